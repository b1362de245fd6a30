import type { Transaction } from 'kysely';
import { AppError, businessDate } from '../platform/index.ts';
import { findCustomerById, setContactStatus, upsertContact } from '../customers/index.ts';
import { postPayment, validatePayment } from '../payments/index.ts';
import type { Outcome, TaskRow } from '../work/index.ts';

/**
 * What a manual-collection outcome (人工催费结果) changes outside the task, in the caller's transaction.
 * Paid on site: the money is posted to the customer's account on the grid-manager channel, exactly once
 * per task (reference `task-<id>`), and allocated by the payments context like any other payment.
 * A corrected contact goes to the customer's contacts as verified (the manager just reached them on it).
 */
export async function applyCollectionOutcome(
  trx: Transaction<any>, // eslint-disable-line @typescript-eslint/no-explicit-any
  at: Date,
  task: TaskRow,
  actor: string,
  outcome: Outcome,
): Promise<Outcome> {
  if (task.customer_id === null) return outcome;
  if (outcome.result === 'wrong_contact_corrected') {
    const c = outcome.contact as { kind: 'mobile'; value: string };
    const contactId = await upsertContact(trx, Number(task.customer_id), c.kind, c.value);
    await setContactStatus(trx, [contactId], 'verified');
    return { ...outcome, contactId };
  }
  if (outcome.result === 'paid_on_site') {
    const customer = (await findCustomerById(trx, Number(task.customer_id)))!;
    const input = validatePayment(
      { channel: 'grid_manager', reference: `task-${task.id}`, customerNumber: customer.number, amount: String(outcome.amount), currency: 'CNY', paidOn: businessDate(at) },
      businessDate(at),
    );
    if ('code' in input) throw new AppError(input.code, input.reason, 400);
    const { payment } = await postPayment(trx, { now: () => at }, input, actor, 'api');
    return { ...outcome, payment: { id: payment.id, reference: payment.reference, amount: payment.amount, prepaid: payment.prepaid } };
  }
  return outcome;
}
