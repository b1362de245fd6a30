import type { Transaction } from 'kysely';
import { AppError, businessDate, notFound } from '../platform/index.ts';
import { findMeterByAssetNo, findMeterById, meterScopePath, recordMeterEvents } from '../assets/index.ts';
import { closeServicePoints, findCustomerById, listServicePoints, openServicePoints } from '../customers/index.ts';
import { upsertReadings } from '../metering/index.ts';
import { requireMeterFromPlaceStore, type Outcome, type TaskRow, type TouRegisters } from '../work/index.ts';

/**
 * A meter exchange (换表) completed through its task, inside the caller's transaction: the old meter is
 * removed and the new one installed on the same measuring point (assets), the service point moves to the
 * new meter (customers), and the old meter's final register and the new meter's initial register are
 * stored on the exchange date (metering, quality 'actual', source 'manual'). Billing then sees
 * old(final) − old(start) + new(end) − new(initial) for the period that spans the exchange. The new meter
 * comes from the store of the customer's county (requireMeterFromPlaceStore).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function applyMeterExchange(trx: Transaction<any>, at: Date, task: TaskRow, actor: string, outcome: Outcome): Promise<Outcome> {
  if (task.customer_id === null) throw new AppError('TASK_EXCHANGE_NO_CUSTOMER', `task ${task.id} names no customer`, 409);
  const customerId = Number(task.customer_id);
  const date = String(outcome.exchangeDate);
  if (date > businessDate(at)) throw new AppError('TASK_OUTCOME_INVALID', `exchangeDate ${date} lies in the future`, 400);
  const active = (await listServicePoints(trx, customerId)).filter((sp) => sp.removed_on === null);
  const current = task.meter_id !== null ? active.find((sp) => Number(sp.meter_id) === Number(task.meter_id)) : active.length === 1 ? active[0] : undefined;
  if (!current) throw new AppError('TASK_EXCHANGE_NO_METER', `customer ${customerId} has no single installed meter ${task.meter_id ?? ''} to exchange`, 409);
  if (date < current.installed_on) throw new AppError('TASK_OUTCOME_INVALID', `exchangeDate ${date} lies before the old meter was installed (${current.installed_on})`, 400);
  const oldMeter = (await findMeterById(trx, Number(current.meter_id)))!;
  const newMeter = await findMeterByAssetNo(trx, String(outcome.newMeterAssetNo));
  if (!newMeter) throw notFound('ASSET_UNKNOWN', `no meter with asset number ${String(outcome.newMeterAssetNo)}`);
  const customer = (await findCustomerById(trx, customerId))!;
  requireMeterFromPlaceStore({ assetNo: newMeter.asset_no, orgPath: await meterScopePath(trx, newMeter.id) }, customer.org_path);

  await recordMeterEvents(trx, at, [
    { meterId: oldMeter.id, event: 'removed', actor, place: customer.address, taskId: task.id, note: `final register ${String(outcome.oldFinalKwh)} kWh` },
    {
      meterId: newMeter.id, event: 'installed', actor, place: customer.address, orgPath: customer.org_path, taskId: task.id,
      concentratorId: oldMeter.concentrator_id, measuringPoint: oldMeter.measuring_point, installedOn: date,
      note: `initial register ${String(outcome.newInitialKwh)} kWh`,
    },
  ]);
  await closeServicePoints(trx, [{ customerId, meterId: oldMeter.id, removedOn: date }]);
  await openServicePoints(trx, [{ customerId, meterId: newMeter.id, installedOn: date }]);
  await upsertReadings(trx, at, [
    { meterId: oldMeter.id, readingDate: date, totalKwh: String(outcome.oldFinalKwh), ...(outcome.oldFinalRegisters as TouRegisters), quality: 'actual', source: 'manual' },
    { meterId: newMeter.id, readingDate: date, totalKwh: String(outcome.newInitialKwh), ...(outcome.newInitialRegisters as TouRegisters), quality: 'actual', source: 'manual' },
  ]);
  return { ...outcome, oldMeterAssetNo: oldMeter.asset_no, oldMeterId: oldMeter.id, newMeterId: newMeter.id };
}
