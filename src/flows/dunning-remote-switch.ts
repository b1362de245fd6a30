import type { AppContext } from '../platform/index.ts';
import { findMeterById } from '../assets/index.ts';
import { claimPendingSwitches, markSwitch, type RemoteSwitchCommandRow } from '../dunning/index.ts';
import { decodeDlt645Message, fromHex } from '../metering/protocols/index.ts';
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
 * settles the command: a relay-control reply confirms it, an error reply or silence fails it (the
 * suspension flow then sends a field job). Commands for a concentrator that is offline stay pending.
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
        await markSwitch(trx, cmd.id, 'failed', ctx.clock.now(), 'the meter is not behind any concentrator');
        result.failed++;
      } else if (!online.has(concentratorId)) {
        result.waiting++;
      } else {
        await markSwitch(trx, cmd.id, 'sent', ctx.clock.now());
        out.push({ cmd, concentratorId });
      }
    }
    return out;
  });
  await Promise.all(claimed.map(async ({ cmd, concentratorId }) => {
    const answer = await frontend.forwardToMeter(concentratorId, fromHex(cmd.frame_hex), opts.timeoutMs);
    const at = ctx.clock.now();
    if (answer === 'offline' || answer === 'no_answer') {
      await markSwitch(ctx.db, cmd.id, 'failed', at, `concentrator ${concentratorId}: ${answer === 'offline' ? 'went offline' : 'no answer'}`);
      result.failed++;
      return;
    }
    if (answer.length === 0) {
      await markSwitch(ctx.db, cmd.id, 'failed', at, 'the meter did not answer the concentrator');
      result.failed++;
      return;
    }
    let detail: string;
    let ok = false;
    try {
      const m = decodeDlt645Message(answer);
      ok = m.kind === 'relayControlReply' && m.address === cmd.comm_address;
      detail = m.kind === 'errorReply' ? `meter refused: ${m.errors.join(', ') || `error 0x${m.errorCode.toString(16)}`}` : ok ? 'relay order confirmed by the meter' : `unexpected answer ${m.kind} from ${m.address}`;
    } catch (e) {
      detail = `undecodable answer: ${(e as Error).message}`;
    }
    await markSwitch(ctx.db, cmd.id, ok ? 'confirmed' : 'failed', at, detail);
    if (ok) result.confirmed++;
    else result.failed++;
  }));
  if (claimed.length || result.failed) ctx.log.info(result, 'remote switch orders sent to the meters');
  return result;
}
