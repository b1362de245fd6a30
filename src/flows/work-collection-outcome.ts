import type { Transaction } from 'kysely';
import { AppError, businessDate } from '../platform/index.ts';
import { adoptVerifiedContact } from '../customers/index.ts';
import { postPayments, settleOutcome, validatePayment, type PaymentInput } from '../payments/index.ts';
import type { Outcome, TaskRow } from '../work/index.ts';

/**
 * What manual-collection outcomes (人工催费结果) change outside their tasks, in the caller's transaction;
 * returns each outcome with what was added. Paid on site: the money is posted to the customer's account on
 * the grid-manager channel, exactly once per task (reference `task-<id>`), and allocated by the payments
 * context like any other payment; the day's visits are posted in one statement. A corrected contact goes to
 * the customer's contacts as verified (the manager just reached them on it) and carries the notices of its kind.
 */
export async function applyCollectionOutcomes(
  trx: Transaction<any>, // eslint-disable-line @typescript-eslint/no-explicit-any
  at: Date,
  items: readonly { task: TaskRow; outcome: Outcome }[],
  actor: string,
): Promise<Outcome[]> {
  const out = items.map((i) => i.outcome);
  const day = businessDate(at);
  const paid: { k: number; p: PaymentInput }[] = [];
  const paying = items.filter((i) => i.task.customer_id !== null && i.outcome.result === 'paid_on_site');
  const numbers = new Map(paying.length
    ? (await trx.selectFrom('customer').select(['id', 'number']).where('id', 'in', paying.map((i) => Number(i.task.customer_id))).execute()).map((c) => [Number(c.id), c.number as string])
    : []);
  for (const [k, { task, outcome }] of items.entries()) {
    if (task.customer_id === null) continue;
    if (outcome.result === 'wrong_contact_corrected') {
      const c = outcome.contact as { kind: 'mobile'; value: string };
      out[k] = { ...outcome, contactId: await adoptVerifiedContact(trx, Number(task.customer_id), c.kind, c.value, at) };
    }
    if (outcome.result === 'paid_on_site') {
      const input = validatePayment(
        { channel: 'grid_manager', reference: `task-${task.id}`, customerNumber: numbers.get(Number(task.customer_id)) ?? '', amount: String(outcome.amount), currency: 'CNY', paidOn: day },
        day,
      );
      if ('code' in input) throw new AppError(input.code, input.reason, 400);
      paid.push({ k, p: input });
    }
  }
  const posted = await postPayments(trx, at, paid.map((x) => ({ p: x.p, actor })), 'api');
  paid.forEach(({ k, p }, j) => {
    const { payment } = settleOutcome(posted[j]!, p);
    out[k] = { ...out[k], payment: { id: payment.id, reference: payment.reference, amount: payment.amount, prepaid: payment.prepaid } };
  });
  return out;
}
