import type { AppContext } from '../platform/index.ts';
import { findMeterById } from '../assets/index.ts';
import { claimPendingSwitches, markSwitch, reconnectDeadline, switchFallbackKey, type RemoteSwitchCommandRow } from '../dunning/index.ts';
import { openTasks } from '../work/index.ts';
import { Dlt645Function, fromHex, interpretDlt645Frame, scanDlt645Frames } from '../metering/protocols/index.ts';
import type { Frontend } from '../metering/index.ts';

export interface RemoteSwitchResult {
  confirmed: number;
  failed: number;
  /** Left pending: the meter's concentrator is not logged in now. */
  waiting: number;
}

/**
 * Remote disconnect / reconnect (远程停复电) of cost-control meters: the DL/T 645 relay orders the dunning
 * run queued go to each meter through its concentrator (Q/GDW 1376.1 AFN 10 F1), and the meter's answer
 * settles the command: a relay-control reply confirms it, an error reply or silence fails it and opens
 * the same job for the field (停电 / 复电 on site). Commands for a concentrator that is offline stay pending.
 */
export async function sendRemoteSwitches(ctx: AppContext, frontend: Frontend, opts: { limit?: number; timeoutMs?: number } = {}): Promise<RemoteSwitchResult> {
  const online = new Set(frontend.onlineConcentrators());
  const result: RemoteSwitchResult = { confirmed: 0, failed: 0, waiting: 0 };
  // claim and mark 'sent' in one transaction, so two front-ends never send the same order
  const claimed = await ctx.db.transaction().execute(async (trx) => {
    const rows = await claimPendingSwitches(trx, opts.limit ?? 500);
    const out: { cmd: RemoteSwitchCommandRow; concentratorId: number }[] = [];
    for (const cmd of rows) {
      const meter = await findMeterById(trx, Number(cmd.meter_id));
      const concentratorId = meter?.concentrator_id === null || meter?.concentrator_id === undefined ? null : Number(meter.concentrator_id);
      if (concentratorId === null) {
        await fail(trx, cmd, 'the meter is not behind any concentrator');
      } else if (!online.has(concentratorId)) {
        result.waiting++;
      } else {
        await markSwitch(trx, cmd.id, 'sent', ctx.clock.now());
        out.push({ cmd, concentratorId });
      }
    }
    return out;
  });
  // one order at a time per concentrator (its link has 16 sequence numbers and one RS-485 bus), concentrators in parallel
  const byConcentrator = new Map<number, RemoteSwitchCommandRow[]>();
  for (const { cmd, concentratorId } of claimed) byConcentrator.set(concentratorId, [...(byConcentrator.get(concentratorId) ?? []), cmd]);
  await Promise.all([...byConcentrator].map(async ([concentratorId, cmds]) => {
    for (const cmd of cmds) await send(cmd, concentratorId);
  }));
  if (claimed.length || result.failed) ctx.log.info(result, 'remote switch orders sent to the meters');
  return result;

  async function send(cmd: RemoteSwitchCommandRow, concentratorId: number): Promise<void> {
    const answer = await frontend.forwardToMeter(concentratorId, fromHex(cmd.frame_hex), opts.timeoutMs);
    const at = ctx.clock.now();
    if (answer === 'offline' || answer === 'no_answer') {
      return fail(ctx.db, cmd, `concentrator ${concentratorId}: ${answer === 'offline' ? 'went offline' : 'no answer'}`);
    }
    if (answer.length === 0) {
      return fail(ctx.db, cmd, 'the meter did not answer the concentrator');
    }
    const { ok, detail } = relayOutcome(answer, cmd.comm_address);
    if (!ok) return fail(ctx.db, cmd, detail);
    await markSwitch(ctx.db, cmd.id, 'confirmed', at, detail);
    result.confirmed++;
  }

  /**
   * A remote order that did not work becomes the same job on site for the customer's team or manager;
   * a reconnect job keeps the deadline the payment set (24 h from it), not 24 h from the failure.
   */
  async function fail(db: AppContext['db'], cmd: RemoteSwitchCommandRow, detail: string): Promise<void> {
    const at = ctx.clock.now();
    await markSwitch(db, cmd.id, 'failed', at, detail);
    const what = cmd.action === 'disconnect' ? '欠费停电' : '缴费复电';
    await openTasks(db, at, [{
      kind: cmd.action, idempotencyKey: switchFallbackKey(cmd.id), title: `${what}：远程${cmd.action === 'disconnect' ? '拉闸' : '合闸'}未成功，请现场处理（${detail}）`,
      customerId: Number(cmd.customer_id), meterId: Number(cmd.meter_id), payload: { switchCommandId: Number(cmd.id), reason: detail }, createdBy: 'front-end',
      dueAt: (await reconnectDeadline(db, cmd)) ?? undefined,
    }]);
    result.failed++;
  }
}

/**
 * What the meter's answer to a relay order says. The answer is read as a stream: a carrier or RS-485
 * link can put noise before the frame or after it, and the meter's own reply is the one from its
 * address to the relay order (a normal reply, or an error reply with its reason).
 */
export function relayOutcome(answer: Uint8Array, commAddress: string): { ok: boolean; detail: string } {
  const { frames } = scanDlt645Frames(answer);
  const reply = frames.find((f) => f.control.fromMeter && f.control.func === Dlt645Function.relayControl && f.address === commAddress);
  if (!reply) {
    const other = frames[0];
    return { ok: false, detail: other ? `unexpected answer (function 0x${other.control.func.toString(16)}) from ${other.address}` : 'undecodable answer' };
  }
  try {
    const m = interpretDlt645Frame(reply);
    if (m.kind === 'errorReply') return { ok: false, detail: `meter refused: ${m.errors.join(', ') || `error 0x${m.errorCode.toString(16)}`}` };
    return { ok: true, detail: 'relay order confirmed by the meter' };
  } catch (e) {
    return { ok: false, detail: `undecodable answer: ${(e as Error).message}` };
  }
}
