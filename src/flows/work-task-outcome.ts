import { businessDate, type AppContext } from '../platform/index.ts';
import { setContactStatus, upsertContact, listServicePoints } from '../customers/index.ts';
import { upsertReadings } from '../metering/index.ts';
import { findTask, setTaskOutcome, transitionTask, validateOutcome, type Outcome, type TaskRow } from '../work/index.ts';
import { notFound } from '../platform/index.ts';
import { applyCollectionOutcome } from './work-collection-outcome.ts';
import { applyMeterExchange } from './work-meter-exchange.ts';
import { applyBusinessChange } from './work-business-change.ts';

/**
 * Complete a task with its outcome and apply what the outcome means to the other contexts, in one
 * transaction: a refused transition or a failed effect leaves the task and every other table unchanged.
 */
export async function completeTaskWithOutcome(
  ctx: AppContext,
  by: { actor: string; staffId?: number },
  taskId: number,
  input: { outcome: Outcome; note?: string },
): Promise<TaskRow> {
  const found = await findTask(ctx.db, taskId);
  if (!found) throw notFound('TASK_UNKNOWN', `no task ${taskId}`);
  const at = ctx.clock.now();
  const outcome = validateOutcome(found.kind, input.outcome, businessDate(at));
  return ctx.db.transaction().execute(async (trx) => {
    const task = await transitionTask(trx, at, { taskId, action: 'complete', actor: by.actor, actorStaffId: by.staffId, note: input.note, outcome });
    let applied = outcome;
    if (task.kind === 'manual_collection') applied = await applyCollectionOutcome(trx, at, task, by.actor, outcome);
    if (task.kind === 'meter_exchange') applied = await applyMeterExchange(trx, at, task, by.actor, outcome);
    if (task.kind === 'business_change') applied = await applyBusinessChange(trx, at, task, by.actor, outcome);
    if (task.kind === 'contact_verification' && outcome.result !== 'unreachable' && task.customer_id !== null) {
      const c = outcome.contact as { kind: 'mobile'; value: string };
      const contactId = await upsertContact(trx, Number(task.customer_id), c.kind, c.value);
      await setContactStatus(trx, [contactId], 'verified');
      applied = { ...outcome, contactId };
    }
    if (task.kind === 're_read') applied = await storeReRead(trx, at, task, outcome);
    if (applied !== outcome) await setTaskOutcome(trx, task.id, applied);
    return { ...task, outcome: applied };
  });
}

/** The on-site reading (现场补抄) of a re-read task goes to the readings store as a re-read. */
async function storeReRead(trx: Parameters<typeof upsertReadings>[0], at: Date, task: TaskRow, o: Outcome): Promise<Outcome> {
  let meterId = task.meter_id === null ? null : Number(task.meter_id);
  if (meterId === null && task.customer_id !== null) {
    const active = (await listServicePoints(trx, Number(task.customer_id))).filter((sp) => sp.removed_on === null);
    if (active.length === 1) meterId = Number(active[0]!.meter_id);
  }
  if (meterId === null) return { ...o, stored: false };
  await upsertReadings(trx, at, [{
    meterId, readingDate: String(o.readingDate), totalKwh: String(o.totalKwh), sharpKwh: o.sharpKwh as string | undefined,
    peakKwh: o.peakKwh as string | undefined, flatKwh: o.flatKwh as string | undefined, valleyKwh: o.valleyKwh as string | undefined,
    quality: 're_read', source: 'manual',
  }]);
  return { ...o, meterId, stored: true };
}
