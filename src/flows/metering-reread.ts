/**
 * On-site re-reads (补抄) across metering and work: a meter unread past the policy opens one task for the
 * collection-operations team contracting its transformer area; a person's reading or a late automatic
 * one closes it.
 */
import { audit, businessDate, AppError, requireIsoDate, type AppContext, type Db } from '../platform/index.ts';
import {
  checkRegisterValues, closeReReadCases, closeReReadCasesOutOfScope, findMeterScope, loadMeteringPolicy, openReReadCases, upsertReadings, ensureReadingPartitions,
  type RegisterValues,
} from '../metering/index.ts';
import { closeTasksByKey, openTasks } from '../work/index.ts';

/** Open a re-read case and its team task for every meter unread past the policy as of `day`. */
export async function openReReadTasks(ctx: AppContext, day: string): Promise<{ opened: number }> {
  const policy = await loadMeteringPolicy(ctx.db);
  const at = ctx.clock.now();
  return ctx.db.transaction().execute(async (trx) => {
    const cases = await openReReadCases(trx, day, at, policy.rereadMissingDays, policy.lookbackDays);
    await openTasks(trx, at, cases.map((c) => ({
      kind: 're_read' as const,
      idempotencyKey: c.taskKey,
      title: `现场补抄 meter ${c.commAddress}: no reading since ${c.missingSince}`,
      customerId: c.customerId ?? undefined,
      meterId: c.meterId,
      transformerAreaId: c.transformerAreaId ?? undefined,
      payload: { commAddress: c.commAddress, missingSince: c.missingSince },
      createdBy: 'metering',
    })));
    return { opened: cases.length };
  });
}

async function closeWithin(db: Db, at: Date, meterIds?: number[]) {
  const closed = await closeReReadCases(db, at, meterIds);
  await closeTasksByKey(db, at, closed.manual, 'done', { closedBy: 'manual_reading' });
  await closeTasksByKey(db, at, closed.automatic, 'done', { closedBy: 'automatic_reading' });
  // nobody is sent to read a meter that came off unread or whose account closed
  const gone = await closeReReadCasesOutOfScope(db, at, meterIds);
  await closeTasksByKey(db, at, gone, 'cancelled', { closedBy: 'out_of_scope' });
  return { manual: closed.manual.length, automatic: closed.automatic.length, outOfScope: gone.length };
}

/**
 * Close the cases (and tasks) of meters that have a real reading again, e.g. a late automatic one; cancel those of
 * meters collection no longer answers for.
 */
export async function closeReReadTasks(ctx: AppContext, meterIds?: number[]): Promise<{ manual: number; automatic: number; outOfScope: number }> {
  const at = ctx.clock.now();
  return ctx.db.transaction().execute((trx) => closeWithin(trx, at, meterIds));
}

export interface ManualReading {
  /** DL/T 645 address or asset number. */
  meter: string;
  date: string;
  values: RegisterValues;
  /** Who read it on site ('staff:12'). */
  enteredBy: string;
  /** Only meters of customers under this org path (the caller's scope). */
  scopePath?: string;
}

/** Store an on-site reading (quality re_read) and close the meter's re-read task, in one transaction. */
export async function enterManualReading(ctx: AppContext, m: ManualReading) {
  requireIsoDate('READING_DATE_INVALID', 'date', m.date);
  if (m.date > businessDate(ctx.clock.now())) throw new AppError('READING_DATE_FUTURE', `${m.date} is in the future`);
  const values = checkRegisterValues(m.values);
  const meter = await findMeterScope(ctx.db, m.meter);
  if (m.scopePath && !(meter.orgPath ?? '').startsWith(m.scopePath)) throw new AppError('AUTH_FORBIDDEN', 'meter outside your org scope', 403);
  const at = ctx.clock.now();
  await ensureReadingPartitions(ctx.db, m.date, m.date);
  const closed = await ctx.db.transaction().execute(async (trx) => {
    await upsertReadings(trx, at, [{
      meterId: meter.meterId, readingDate: m.date, totalKwh: values.total, sharpKwh: values.sharp, peakKwh: values.peak,
      flatKwh: values.flat, valleyKwh: values.valley, quality: 're_read', source: 'manual',
    }]);
    await audit(trx, ctx.clock, { actor: m.enteredBy, action: 'reading.reread.enter', subject: `meter:${meter.commAddress}`, detail: { date: m.date, ...values } });
    return closeWithin(trx, at, [meter.meterId]);
  });
  return { meterId: meter.meterId, commAddress: meter.commAddress, date: m.date, quality: 're_read' as const, tasksClosed: closed.manual + closed.automatic };
}
