import { AppError, businessDate, type AppContext } from '../platform/index.ts';
import { adoptVerifiedContact, listServicePoints } from '../customers/index.ts';
import { upsertReadings } from '../metering/index.ts';
import { setTaskOutcomes, transitionTasks, validateOutcome, type Outcome, type TaskRow, type Transition } from '../work/index.ts';
import { notFound } from '../platform/index.ts';
import { applyCollectionOutcomes } from './work-collection-outcome.ts';
import { applyMeterExchange } from './work-meter-exchange.ts';
import { applyBusinessChange } from './work-business-change.ts';

export interface TaskCompletion {
  taskId: number;
  outcome: Outcome;
  note?: string;
  /** Start the task first (a worker who completes a task still open or accepted, in one visit). */
  start?: boolean;
}

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
  const [result] = await completeTasksWithOutcomes(ctx, by, [{ taskId, ...input }]);
  if (result instanceof AppError) throw result;
  return result!;
}

/**
 * Complete many tasks in one transaction (a day of community-manager visits): each outcome is validated
 * for its task's kind and each transition checked by the task flow; an unknown task, an invalid outcome or
 * a refused transition comes back as its error in its place and the others go through. Their effects are
 * applied set-based where they are many (payments on site) and together with the tasks: a failed effect
 * rolls the whole batch back.
 */
export async function completeTasksWithOutcomes(
  ctx: AppContext,
  by: { actor: string; staffId?: number },
  items: readonly TaskCompletion[],
): Promise<(TaskRow | AppError)[]> {
  if (!items.length) return [];
  const at = ctx.clock.now();
  const day = businessDate(at);
  const kinds = new Map((await ctx.db.selectFrom('task').select(['id', 'kind']).where('id', 'in', items.map((i) => i.taskId)).execute())
    .map((r) => [Number(r.id), r.kind as string]));
  const results: (TaskRow | AppError)[] = items.map((i) => (kinds.has(i.taskId) ? (null as unknown as TaskRow) : notFound('TASK_UNKNOWN', `no task ${i.taskId}`)));
  const valid: { index: number; outcome: Outcome }[] = [];
  items.forEach((item, index) => {
    if (results[index]) return;
    try {
      valid.push({ index, outcome: validateOutcome(kinds.get(item.taskId) as TaskRow['kind'], item.outcome, day) });
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      results[index] = e;
    }
  });
  if (!valid.length) return results;
  return ctx.db.transaction().execute(async (trx) => {
    const transitions: Transition[] = [];
    const completeAt: number[] = [];
    for (const { index, outcome } of valid) {
      const item = items[index]!;
      const common = { taskId: item.taskId, actor: by.actor, actorStaffId: by.staffId };
      if (item.start) transitions.push({ ...common, action: 'start' });
      completeAt.push(transitions.length);
      transitions.push({ ...common, action: 'complete', note: item.note, outcome });
    }
    const moved = await transitionTasks(trx, at, transitions);
    const done: { index: number; task: TaskRow; outcome: Outcome }[] = [];
    valid.forEach(({ index, outcome }, k) => {
      // a refused start shows as the refusal; otherwise the completion's own result
      const start = items[index]!.start ? moved[completeAt[k]! - 1] : undefined;
      const r = start instanceof AppError ? start : moved[completeAt[k]!]!;
      if (r instanceof AppError) results[index] = r;
      else done.push({ index, task: r, outcome });
    });

    const applied = new Map<number, Outcome>(done.map((d) => [d.index, d.outcome]));
    const collections = done.filter((d) => d.task.kind === 'manual_collection');
    const collected = await applyCollectionOutcomes(trx, at, collections, by.actor);
    collections.forEach((d, k) => applied.set(d.index, collected[k]!));
    for (const d of done) {
      const { task, outcome } = d;
      if (task.kind === 'meter_exchange') applied.set(d.index, await applyMeterExchange(trx, at, task, by.actor, outcome));
      if (task.kind === 'business_change') applied.set(d.index, await applyBusinessChange(trx, at, task, by.actor, outcome));
      if (task.kind === 'contact_verification' && outcome.result !== 'unreachable' && task.customer_id !== null) {
        const c = outcome.contact as { kind: 'mobile'; value: string };
        applied.set(d.index, { ...outcome, contactId: await adoptVerifiedContact(trx, Number(task.customer_id), c.kind, c.value, at) });
      }
      if (task.kind === 're_read') applied.set(d.index, await storeReRead(trx, at, task, outcome));
    }
    const changed = done.filter((d) => applied.get(d.index) !== d.outcome);
    await setTaskOutcomes(trx, changed.map((d) => ({ taskId: d.task.id, outcome: applied.get(d.index)! })));
    for (const d of done) results[d.index] = { ...d.task, outcome: applied.get(d.index)! };
    return results;
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
