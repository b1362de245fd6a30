import { AppError, businessDate, notFound, type AppContext } from '../platform/index.ts';
import { concentratorOfArea, findMeterByAssetNo, findTransformerAreaByCode, meterScopePath, nextMeasuringPoint, recordMeterEvents } from '../assets/index.ts';
import { createCustomers, openServicePoints } from '../customers/index.ts';
import { upsertReadings } from '../metering/index.ts';
import { completeStep, markApplicationCompleted, requireMeterFromPlaceStore, setApplicationArea } from '../work/index.ts';

export interface StepCompletion {
  applicationId: number;
  step: string;
  actor: string;
  note?: string;
  /** The area the supply plan connects the customer to; needed by the time the meter is installed. */
  transformerAreaCode?: string;
  /** For the last step (装表接电): the meter taken from stock and its register when energised. */
  meterAssetNo?: string;
  initialKwh?: string;
}

/**
 * Complete a new-connection step. The last one (meter install and energise) puts the customer into the
 * master data in the same transaction: the customer (customers), the meter installed on the area's
 * concentrator (assets), the service point (customers) and the initial register (metering). The meter comes
 * from the store of the application's county (requireMeterFromPlaceStore).
 */
export async function completeConnectionStep(ctx: AppContext, c: StepCompletion): Promise<{ completed: boolean; customerNumber?: string }> {
  if (c.initialKwh !== undefined && !/^\d{1,12}(\.\d{1,4})?$/.test(c.initialKwh)) throw new AppError('CONNECTION_REGISTER_INVALID', 'initialKwh is a register value in kWh, as a string');
  const area = c.transformerAreaCode ? await findTransformerAreaByCode(ctx.db, c.transformerAreaCode) : undefined;
  if (c.transformerAreaCode && !area) throw notFound('AREA_UNKNOWN', `no transformer area ${c.transformerAreaCode}`);
  const at = ctx.clock.now();
  return ctx.db.transaction().execute(async (trx) => {
    if (area) await setApplicationArea(trx, c.applicationId, area.id);
    const { last, application } = await completeStep(trx, at, c);
    if (!last) return { completed: false };
    const areaId = area?.id ?? application.transformer_area_id;
    if (areaId === null) throw new AppError('CONNECTION_AREA_REQUIRED', 'name the transformer area (transformerAreaCode) the customer is connected to', 400);
    if (!c.meterAssetNo) throw new AppError('CONNECTION_METER_REQUIRED', 'name the meter installed (meterAssetNo)', 400);
    const meter = await findMeterByAssetNo(trx, c.meterAssetNo);
    if (!meter) throw notFound('ASSET_UNKNOWN', `no meter with asset number ${c.meterAssetNo}`);
    requireMeterFromPlaceStore({ assetNo: meter.asset_no, orgPath: await meterScopePath(trx, meter.id) }, application.org_path);
    const today = businessDate(at);
    const [customer] = await createCustomers(trx, [{
      name: application.applicant_name, kind: application.category === 'residential' ? 'residential' : 'non_residential',
      category: application.category, tariffCode: application.tariff_code, billingCycle: application.billing_cycle,
      transformerAreaId: areaId, address: application.address,
      contractCapacityKva: application.category === 'residential' ? null : application.capacity_kva, createdOn: today,
    }]);
    const concentratorId = await concentratorOfArea(trx, areaId);
    await recordMeterEvents(trx, at, [{
      meterId: meter.id, event: 'installed', actor: c.actor, place: application.address, orgPath: application.org_path,
      concentratorId, measuringPoint: concentratorId === null ? null : await nextMeasuringPoint(trx, concentratorId), installedOn: today,
      note: `new connection ${application.external_ref}`,
    }]);
    await openServicePoints(trx, [{ customerId: customer!.id, meterId: meter.id, installedOn: today }]);
    await upsertReadings(trx, at, [{ meterId: meter.id, readingDate: today, totalKwh: c.initialKwh ?? '0', quality: 'actual', source: 'manual' }]);
    await markApplicationCompleted(trx, at, c.applicationId, customer!.id, meter.id);
    return { completed: true, customerNumber: customer!.number };
  });
}
