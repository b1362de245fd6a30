/**
 * Dunning → work: a person steps in. One manual collection task (人工催费) for the grid's community
 * manager per unpaid debt, after overdue notice 3 and its grace period — or at once when the
 * customer has no agreed channel; one contact-verification task (联系方式核实) per contact that
 * keeps failing. Task keys make every step safe to repeat.
 */
import type { AppContext } from '../platform/index.ts';
import { businessDate, maskContact, setBasedJoins } from '../platform/index.ts';
import { closeTasksByKey, openTasks, openTasksFrom, type TaskSpec } from '../work/index.ts';
import { verifyReachedContacts } from '../customers/index.ts';
import { WHOLE_PROVINCE, type CustomerRange } from '../customers/index.ts';
import { paidBills } from '../payments/index.ts';
import {
  contactsReachedQuery, contactVerificationKey, dropManualCollections, failingContacts, manualCollectionBills, manualCollectionTasks,
  recordEscalations, recordManualCollections, selectManualCollectionsDue, settleManualCollections, type EscalationInput,
} from '../dunning/index.ts';

/** The ledger as it stands, whatever day is run (as the suspension step reads it). */
const LEDGER_AS_IT_STANDS = 'infinity';

/**
 * The manual collections due among the customers of `range` (the daily run hands them over in slices at
 * once). A run for a day already past (a catch-up) does not hand over a debt settled since that day:
 * its snapshot is as of its day, the ledger has moved on. A run for today has no later payment to
 * miss (a payment is never dated after today), so the selection is recorded as it is.
 */
export async function escalateToManualCollection(ctx: AppContext, asOf: string, range: CustomerRange = WHOLE_PROVINCE): Promise<number> {
  const at = ctx.clock.now();
  return ctx.db.transaction().execute(async (trx) => {
    // the escalations are recorded from the selection in SQL; their tasks open from the same rows,
    // in SQL too (a day can hand over hundreds of thousands), in the same transaction
    await selectManualCollectionsDue(trx, asOf, range);
    if (asOf < businessDate(at)) {
      const paid = await paidBills(trx, LEDGER_AS_IT_STANDS, await manualCollectionBills(trx));
      await dropManualCollections(trx, paid.map((p) => p.billId));
    }
    const recorded = await recordManualCollections(trx, asOf, at);
    if (recorded) await openTasksFrom(trx, at, manualCollectionTasks(), { fresh: true });
    return recorded;
  });
}

/**
 * The manual collections among the customers of `range` whose debt the day's snapshot no longer holds
 * (paid, credited or voided): their tasks still open are called off, so the community manager is not
 * sent to collect what is settled. Returns how many collections were settled.
 */
export async function closeSettledCollections(ctx: AppContext, asOf: string, range: CustomerRange = WHOLE_PROVINCE): Promise<number> {
  const at = ctx.clock.now();
  return ctx.db.transaction().execute(async (trx) => {
    // hashed, whatever the statistics say: a run can follow the one that wrote 100k collections the planner has not seen
    await setBasedJoins(trx);
    const keys = await settleManualCollections(trx, asOf, range);
    if (keys.length) await closeTasksByKey(trx, at, keys, 'cancelled', { closedBy: 'debt_settled' });
    return keys.length;
  });
}

export async function verifyFailingContacts(ctx: AppContext, asOf: string): Promise<number> {
  const at = ctx.clock.now();
  const failing = await failingContacts(ctx.db, asOf);
  if (!failing.length) return 0;
  const specs: TaskSpec[] = failing.map((f) => ({
    kind: 'contact_verification',
    idempotencyKey: contactVerificationKey(f.contact_id),
    title: `联系方式核实：${f.kind} ${maskContact(f.value)} 已连续 ${f.failures} 次送达失败`,
    customerId: f.customer_id,
    payload: { contactId: f.contact_id, contactKind: f.kind, failures: f.failures },
    createdBy: 'dunning',
  }));
  const escalations: EscalationInput[] = failing.map((f) => ({
    key: contactVerificationKey(f.contact_id), kind: 'contact_verification', reason: `${f.failures} failed deliveries`,
    customer_id: f.customer_id, contact_id: f.contact_id, handled_by: 'task',
  }));
  return ctx.db.transaction().execute(async (trx) => {
    await openTasks(trx, at, specs);
    return recordEscalations(trx, asOf, at, escalations);
  });
}

/**
 * The other side of contact verification: a contact a notice reached (delivered, or a call answered)
 * is verified, so channel coverage (customers with an agreed, verified channel) follows the chase.
 */
export async function verifyContactsReached(ctx: AppContext, day: string): Promise<number> {
  return verifyReachedContacts(ctx.db, contactsReachedQuery(day));
}
