/**
 * Dunning → work: a person steps in. One manual collection task (人工催费) for the grid's community
 * manager per unpaid debt, after overdue notice 3 and its grace period — or at once when the
 * customer has no agreed channel; one contact-verification task (联系方式核实) per contact that
 * keeps failing. Task keys make every step safe to repeat.
 */
import type { AppContext } from '../platform/index.ts';
import { maskContact } from '../platform/index.ts';
import { openTasks, type TaskSpec } from '../work/index.ts';
import {
  contactVerificationKey, failingContacts, manualCollectionKey, recordEscalations, recordManualCollectionsDue, type EscalationInput,
} from '../dunning/index.ts';

export async function escalateToManualCollection(ctx: AppContext, asOf: string): Promise<number> {
  const at = ctx.clock.now();
  return ctx.db.transaction().execute(async (trx) => {
    // the escalations are recorded from the selection in SQL; their tasks open in the same transaction
    const due = await recordManualCollectionsDue(trx, asOf, at);
    if (!due.length) return 0;
    const specs: TaskSpec[] = due.map((d) => ({
      kind: 'manual_collection',
      idempotencyKey: manualCollectionKey(d.customer_id, d.bill_id),
      title: d.reason === 'no_channel' ? `人工催费：无约定通知渠道，电费 ${d.amount} 元（${d.bill_no}）` : `人工催费：3 次自动通知后仍未缴费，电费 ${d.amount} 元（${d.bill_no}）`,
      customerId: d.customer_id,
      payload: { billId: d.bill_id, billNo: d.bill_no, outstanding: d.amount, reason: d.reason },
      createdBy: 'dunning',
    }));
    await openTasks(trx, at, specs);
    return due.length;
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
