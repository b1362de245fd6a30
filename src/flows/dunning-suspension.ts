/**
 * Dunning → metering/work: supply suspension (停电) after the legal notice period, and reconnect
 * (复电) within 24 h of payment: the reconnect sweep runs between daily runs (reconnectAfterPayment),
 * and the daily run reconnects what it finds paid too. Cost-control meters get a DL/T 645
 * relay-control command queued for the collection front-end; other meters, and non-residential
 * customers the policy requires a call for that was not answered, a field task.
 */
import { businessDate, type AppContext } from '../platform/index.ts';
import { encodeDlt645RelayControl, toHex } from '../metering/protocols/index.ts';
import { closeTasksByKey, openTasks, type TaskSpec } from '../work/index.ts';
import { paidBills } from '../payments/index.ts';
import {
  createReconnectNotices, disconnectKey, markReconnectRequested, reconnectKey, reconnectsDue, recordEscalations, recordSuspensions,
  requestSwitches, suspensionsDue, suspensionsInForce, suspensionsPaidInRun, switchFallbackKey, switchRequestKey,
  type EscalationInput, type ReconnectDueRow, type SuspensionKey, type SwitchRequest,
} from '../dunning/index.ts';

export interface RelayAuthority {
  passwordLevel: number;
  password: string;
  operatorCode: string;
  /** The meter ignores an order older than this. */
  validHours: number;
}
export const DEFAULT_RELAY_AUTHORITY: RelayAuthority = { passwordLevel: 2, password: '000000', operatorCode: '00000001', validHours: 24 };

/** 'YYYY-MM-DD hh:mm:ss' local (Shanghai) time, as the meter's clock reads it. */
function meterLocalTime(instant: Date): string {
  return new Date(instant.getTime() + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
}

function relayFrame(commAddress: string, action: 'disconnect' | 'reconnect', at: Date, auth: RelayAuthority): string {
  const frame = encodeDlt645RelayControl(commAddress, {
    command: action === 'disconnect' ? 'trip' : 'directClose',
    passwordLevel: auth.passwordLevel,
    password: auth.password,
    operatorCode: auth.operatorCode,
    validUntil: meterLocalTime(new Date(at.getTime() + auth.validHours * 3600_000)),
  }, { preamble: 4 });
  return toHex(frame, '');
}

/**
 * The ledger as it stands, whatever day is run: a payment dated after the run's day (a missed day run
 * afterwards, to catch up) is already in it.
 */
const LEDGER_AS_IT_STANDS = 'infinity';

export async function suspendOverdueSupply(ctx: AppContext, asOf: string, auth = DEFAULT_RELAY_AUTHORITY): Promise<{ remote: number; field: number }> {
  const at = ctx.clock.now();
  const expired = await suspensionsDue(ctx.db, asOf);
  if (!expired.length) return { remote: 0, field: 0 };
  // the run's open debt is as of its day; supply is not cut for a debt paid since (the suspensions due are few)
  const paid = new Set((await paidBills(ctx.db, LEDGER_AS_IT_STANDS, expired.map((d) => d.bill_id))).map((p) => p.billId));
  const due = expired.filter((d) => !paid.has(d.bill_id));
  if (!due.length) return { remote: 0, field: 0 };
  const commands: SwitchRequest[] = due.filter((d) => d.remote).flatMap((d) =>
    d.meters.map((m) => ({
      request_key: switchRequestKey('disconnect', d.customer_id, d.bill_id, Number(m.meter_id)), meter_id: Number(m.meter_id),
      customer_id: d.customer_id, comm_address: m.comm_address, action: 'disconnect' as const, frame_hex: relayFrame(m.comm_address, 'disconnect', at, auth),
    })),
  );
  const tasks: TaskSpec[] = due.filter((d) => !d.remote).map((d) => ({
    kind: 'disconnect', idempotencyKey: disconnectKey(d.customer_id, d.bill_id), title: `欠费停电：${d.bill_no} 停电通知期满仍未缴费`,
    customerId: d.customer_id, meterId: Number(d.meters[0]!.meter_id), payload: { billId: d.bill_id, billNo: d.bill_no, noticeId: d.notice_id },
    createdBy: 'dunning',
  }));
  const escalations: EscalationInput[] = due.map((d) => ({
    key: disconnectKey(d.customer_id, d.bill_id), kind: 'disconnect', reason: 'suspension notice expired',
    customer_id: d.customer_id, bill_id: d.bill_id, handled_by: d.remote ? 'remote' : 'task',
  }));
  await ctx.db.transaction().execute(async (trx) => {
    await recordSuspensions(trx, at, due);
    await requestSwitches(trx, at, commands);
    await openTasks(trx, at, tasks);
    await recordEscalations(trx, asOf, at, escalations);
  });
  return { remote: due.filter((d) => d.remote).length, field: tasks.length };
}

/** The daily run's reconnects: the suspensions whose debt its open-debt snapshot no longer holds. */
export async function reconnectPaidSupply(ctx: AppContext, asOf: string, auth = DEFAULT_RELAY_AUTHORITY): Promise<number> {
  return reconnectPaid(ctx, asOf, await suspensionsPaidInRun(ctx.db), auth);
}

/**
 * The reconnect sweep between daily runs: every suspension in force, checked against the ledger now.
 * Cheap enough to run every few minutes: suspensions in force are few, and with none it is one
 * index read (dunning_open_debt is not used: it is the run's, empty outside it).
 */
export async function reconnectAfterPayment(ctx: AppContext, auth = DEFAULT_RELAY_AUTHORITY): Promise<number> {
  const n = await reconnectPaid(ctx, businessDate(ctx.clock.now()), await suspensionsInForce(ctx.db), auth);
  if (n) ctx.log.info({ reconnected: n }, 'reconnect requested after payment');
  return n;
}

/**
 * Reconnects the suspensions of `candidates` whose bill the ledger says is paid as of `asOf` (it has
 * the last word over the run's snapshot too: a payment reversed since then leaves the supply off).
 * The ledger also says when the money was posted: the 24 h to reconnect count from then, not from
 * whichever sweep or run noticed it, so a field task is due paid_at + reconnect_within_hours.
 * Every write is keyed: a sweep and a run that both see the payment reconnect once.
 */
async function reconnectPaid(ctx: AppContext, asOf: string, candidates: SuspensionKey[], auth: RelayAuthority): Promise<number> {
  if (!candidates.length) return 0;
  const at = ctx.clock.now();
  const paid = await paidBills(ctx.db, asOf, candidates.map((c) => c.bill_id));
  const due = await reconnectsDue(ctx.db, paid.map((p) => ({ customer_id: p.customerId, bill_id: p.billId, paid_at: p.paidAt })));
  if (!due.length) return 0;
  const commands: SwitchRequest[] = due.filter((d) => d.method === 'remote').flatMap((d) =>
    d.meters.map((m) => ({
      request_key: switchRequestKey('reconnect', d.customer_id, d.bill_id, Number(m.meter_id)), meter_id: Number(m.meter_id),
      customer_id: d.customer_id, comm_address: m.comm_address, action: 'reconnect' as const, frame_hex: relayFrame(m.comm_address, 'reconnect', at, auth),
    })),
  );
  const field = due.filter((d) => d.method === 'field');
  const reconnectTask = (d: ReconnectDueRow): TaskSpec => ({
    kind: 'reconnect', idempotencyKey: reconnectKey(d.customer_id, d.bill_id),
    title: `缴费复电：${meterLocalTime(d.paid_at).slice(0, 16)} 已缴清，请于 ${meterLocalTime(d.reconnect_by).slice(0, 16)} 前恢复供电`,
    customerId: d.customer_id, payload: { billId: d.bill_id, paidAt: d.paid_at }, createdBy: 'dunning', dueAt: d.reconnect_by,
  });
  const escalations: EscalationInput[] = due.map((d) => ({
    key: reconnectKey(d.customer_id, d.bill_id), kind: 'reconnect', reason: 'paid', customer_id: d.customer_id, bill_id: d.bill_id,
    handled_by: d.method === 'remote' ? 'remote' : 'task',
  }));
  await ctx.db.transaction().execute(async (trx) => {
    await markReconnectRequested(trx, at, due);
    await requestSwitches(trx, at, commands);
    // a field disconnect job not done yet has not cut the supply: the crew is called off, and there is
    // nothing to reconnect (a job done, or one the crew could not complete, gets the reconnect job);
    // so is the job that replaced a remote cut the meter did not take (the remote reconnect covers its meter)
    const calledOff = new Set(await closeTasksByKey(trx, at, [
      ...field.map((d) => disconnectKey(d.customer_id, d.bill_id)),
      ...due.flatMap((d) => d.failed_disconnects.map(switchFallbackKey)),
    ], 'cancelled', { closedBy: 'payment' }));
    await openTasks(trx, at, field.filter((d) => !calledOff.has(disconnectKey(d.customer_id, d.bill_id))).map(reconnectTask));
    await createReconnectNotices(trx, asOf, at, due);
    await recordEscalations(trx, asOf, at, escalations);
  });
  return due.length;
}
