import type { Transaction } from 'kysely';
import { AppError, audit, businessDate, notFound } from '../platform/index.ts';
import {
  applyDueCustomerChanges, closeAccounts, closeServicePoints, findCustomerById, listCustomerChanges, listServicePoints, recordCustomerChange, type ContactKind,
} from '../customers/index.ts';
import { findTariff } from '../billing/index.ts';
import { upsertReadings } from '../metering/index.ts';
import type { Outcome, TaskRow } from '../work/index.ts';

/**
 * A business change (业务变更) a community manager completed as its customer's agent, inside the caller's
 * transaction. Name, tariff, capacity and move-in are recorded as customer changes and take effect on
 * their effective date (at once when that date has come, else by the day-end schedule), so a bill for a
 * period before the date still uses what held then.
 *
 * A move-out (迁出, 销户) ends the account: the final register is stored on its date (quality 'actual',
 * source 'manual'), the service point ends on that date (the account's closing date, where a final bill
 * ends, as for the old meter of an exchange) and the account closes at once. Its date is the day the
 * register was read on site, so never in the future: there is no closing to schedule. The next run of its
 * cycle bills it once more, up to the final register (the final bill); the chase goes on for what it owes,
 * without a suspension notice (the supply is no longer its own); collection stops counting its meter. A
 * move-in already recorded for it (a new occupant taking the account over) is refused rather than handed
 * a closed account.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function applyBusinessChange(trx: Transaction<any>, at: Date, task: TaskRow, actor: string, outcome: Outcome): Promise<Outcome> {
  if (task.customer_id === null) throw new AppError('TASK_CHANGE_NO_CUSTOMER', `task ${task.id} names no customer`, 409);
  const customerId = Number(task.customer_id);
  const customer = await findCustomerById(trx, customerId);
  if (!customer) throw notFound('CUSTOMER_UNKNOWN', `no customer ${customerId}`);
  if (customer.status === 'closed') throw new AppError('CUSTOMER_CLOSED', `customer ${customer.number} is closed: its account takes no business change`, 409);
  const today = businessDate(at);
  const effectiveOn = String(outcome.effectiveDate);
  const type = outcome.changeType as 'name' | 'tariff' | 'capacity' | 'move_in' | 'move_out';

  if (type === 'move_out') {
    if (effectiveOn > today) throw new AppError('TASK_OUTCOME_INVALID', `a move-out's final reading cannot be dated in the future (${effectiveOn})`, 400);
    const moveIn = (await listCustomerChanges(trx, customerId)).find((c) => c.change_type === 'move_in' && c.applied_at === null);
    if (moveIn) {
      throw new AppError('CUSTOMER_CHANGE_PENDING', `customer ${customer.number} has a move-in recorded from ${moveIn.effective_on}: the new occupant takes the account over, so it cannot be closed`, 409);
    }
    const active = (await listServicePoints(trx, customerId)).filter((sp) => sp.removed_on === null);
    if (active.length !== 1) throw new AppError('TASK_CHANGE_NO_METER', `customer ${customer.number} has ${active.length} installed meters, not one to read`, 409);
    const point = active[0]!;
    if (effectiveOn < point.installed_on) {
      throw new AppError('TASK_OUTCOME_INVALID', `the move-out (${effectiveOn}) lies before its meter was installed (${point.installed_on})`, 400);
    }
    const meterId = Number(point.meter_id);
    await upsertReadings(trx, at, [{ meterId, readingDate: effectiveOn, totalKwh: String(outcome.finalKwh), quality: 'actual', source: 'manual' }]);
    await closeServicePoints(trx, [{ customerId, meterId, removedOn: effectiveOn }]);
    await closeAccounts(trx, [customerId]);
    await audit(trx, { now: () => at }, { actor, action: 'customer.close', subject: `customer:${customer.number}`, detail: { closedOn: effectiveOn, taskId: task.id, meterId } });
    return { ...outcome, meterId, finalReadingStored: true, accountClosed: true, closedOn: effectiveOn };
  }
  if (type === 'tariff') {
    const tariff = await findTariff(trx, String(outcome.newTariffCode));
    if (!tariff) throw new AppError('TARIFF_UNKNOWN', `no tariff ${String(outcome.newTariffCode)}`, 400);
    if (tariff.category !== customer.category) {
      throw new AppError('TARIFF_CATEGORY_MISMATCH', `tariff ${tariff.code} is for ${tariff.category} customers; ${customer.number} is ${customer.category}`, 400);
    }
  }
  const changeId = await recordCustomerChange(trx, at, {
    customerId, type, effectiveOn, taskId: task.id, recordedBy: actor,
    payload: {
      newName: outcome.newName as string | undefined,
      newTariffCode: outcome.newTariffCode as string | undefined,
      newCapacityKva: outcome.newCapacityKva as number | undefined,
      contact: (outcome.contact as { kind: ContactKind; value: string } | null | undefined) ?? undefined,
    },
  });
  if (effectiveOn <= today) await applyDueCustomerChanges(trx, at, today);
  return { ...outcome, customerChangeId: changeId, appliedNow: effectiveOn <= today };
}
