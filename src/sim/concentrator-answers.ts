import { addDays, businessDate, type Clock } from '../platform/index.ts';
import {
  encodeCurrentForwardEnergyReply,
  encodeDailyFrozenEnergyReply,
  encodeGdw1376Deny,
  decodeDlt645Message,
  encodeDlt645RelayControlReply,
  encodeTransparentForwardReply,
  Gdw1376Afn,
  transparentForwardOf,
  replyEnvelopeFor,
  type DailyFrozenEnergyReading,
  type EnergyRegisters,
  type ForwardEnergyReading,
  type Gdw1376Frame,
} from '../metering/protocols/index.ts';
import type { FaultIndex } from './concentrator-faults.ts';
import type { SimConcentrator, SimMeter } from './concentrator-fleet.ts';
import { cumulativeHundredths, currentRegisters, splitRegisters, type MeterRegisters } from './meter-model.ts';

/** Readings per reply frame: a long request is answered in several frames (FIR … FIN). */
const READINGS_PER_FRAME = 100;
const NO_REGISTERS: EnergyRegisters = { total: null, tariffs: [null, null, null, null] };

const toWire = (r: MeterRegisters): EnergyRegisters => ({ total: r.total, tariffs: [r.sharp, r.peak, r.flat, r.valley] });

/** 'YYYY-MM-DD hh:mm' in Beijing time of an instant. */
function localMinute(ms: number): string {
  const local = new Date(ms + 8 * 3600_000).toISOString();
  return `${local.slice(0, 10)} ${local.slice(11, 16)}`;
}

/** The freeze instant of each day (00:00 after it, Beijing time) and its read-time text: one per day, not per meter. */
const freezes = new Map<string, { at: number; readAt: string }>();
function freezeOf(day: string): { at: number; readAt: string } {
  let f = freezes.get(day);
  if (!f) {
    const at = Date.parse(`${addDays(day, 1)}T00:00:00+08:00`);
    if (freezes.size > 1000) freezes.clear();
    freezes.set(day, (f = { at, readAt: localMinute(at) }));
  }
  return f;
}

/** The daily frozen registers a simulated meter reports for `day`, faults included (null = unreachable). */
export function simulatedDailyReading(seed: number, faults: FaultIndex, m: SimMeter, day: string): { registers: MeterRegisters; readAt: string } | null {
  if (faults.isUnreachable(m.meterId, day, m.concentratorId)) return null;
  const total = cumulativeHundredths(seed, m, day) - faults.backwardsHundredths(m.meterId, day);
  const freeze = freezeOf(day);
  const drift = faults.driftMinutes(m.meterId);
  return { registers: splitRegisters(m.category, total), readAt: drift === 0 ? freeze.readAt : localMinute(freeze.at + drift * 60_000) };
}

/** The reply in frames: the first carries the request's sequence number, each further one the next (mod 16). */
function inFrames<T>(items: T[], seq: number, encode: (chunk: T[], seq: { seq: number; fir: boolean; fin: boolean }) => Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < items.length; i += READINGS_PER_FRAME) {
    const k = i / READINGS_PER_FRAME;
    frames.push(encode(items.slice(i, i + READINGS_PER_FRAME), { seq: (seq + k) & 0x0f, fir: i === 0, fin: i + READINGS_PER_FRAME >= items.length }));
  }
  return frames;
}

/**
 * A concentrator's answer to a master request: AFN 0D F161 (daily frozen) and AFN 0C F129 (current)
 * from the meter model; points it does not have, or a request it cannot serve, get AFN 00 F2 deny.
 */
export function answerRequest(
  req: Gdw1376Frame,
  c: SimConcentrator,
  byPn: Map<number, SimMeter>,
  seed: number,
  faults: FaultIndex,
  clock: Clock,
): Uint8Array[] {
  const envelope = replyEnvelopeFor(req);
  const items = req.units.flatMap((u) => u.items);
  if (req.afn === Gdw1376Afn.historicalData) {
    const readings: DailyFrozenEnergyReading[] = [];
    for (const item of items) {
      const m = byPn.get(item.pn);
      if (item.fn !== 161 || item.value.kind !== 'frozenDate' || !m) continue;
      const r = simulatedDailyReading(seed, faults, m, item.value.date);
      readings.push({ pn: item.pn, date: item.value.date, readAt: r?.readAt ?? null, registers: r ? toWire(r.registers) : NO_REGISTERS });
    }
    if (!readings.length) return [encodeGdw1376Deny(req)];
    return inFrames(readings, envelope.seq.seq, (chunk, seq) => encodeDailyFrozenEnergyReply({ ...envelope, seq }, chunk));
  }
  if (req.afn === Gdw1376Afn.currentData) {
    const now = clock.now();
    const day = businessDate(now);
    const fraction = ((now.getTime() + 8 * 3600_000) % 86_400_000) / 86_400_000;
    const local = new Date(now.getTime() + 8 * 3600_000).toISOString();
    const readings: ForwardEnergyReading[] = [];
    for (const item of items) {
      const m = byPn.get(item.pn);
      if (item.fn !== 129 || !m) continue;
      const unreachable = faults.isUnreachable(m.meterId, day, m.concentratorId);
      readings.push({
        pn: item.pn,
        readAt: unreachable ? null : `${local.slice(0, 10)} ${local.slice(11, 16)}`,
        registers: unreachable ? NO_REGISTERS : toWire(currentRegisters(seed, m, day, fraction)),
      });
    }
    if (!readings.length) return [encodeGdw1376Deny(req)];
    return inFrames(readings, envelope.seq.seq, (chunk, seq) => encodeCurrentForwardEnergyReply({ ...envelope, seq }, chunk));
  }
  if (req.afn === Gdw1376Afn.forward) {
    const forwarded = transparentForwardOf(req);
    if (!forwarded) return [encodeGdw1376Deny(req)];
    const answer = meterAnswer(forwarded.content, c, faults, businessDate(clock.now()));
    return [encodeTransparentForwardReply(envelope, { port: forwarded.port, content: answer })];
  }
  return [encodeGdw1376Deny(req)];
}

/**
 * What a meter behind the concentrator answers a forwarded DL/T 645 frame: a relay order (拉合闸) to
 * a meter it has and can reach is carried out and confirmed; anything else (a meter it does not have,
 * an unreachable one, a garbled frame) gets silence, i.e. an empty forward reply.
 */
function meterAnswer(content: Uint8Array, c: SimConcentrator, faults: FaultIndex, day: string): Uint8Array {
  let message: ReturnType<typeof decodeDlt645Message>;
  try {
    message = decodeDlt645Message(content);
  } catch {
    return new Uint8Array(0);
  }
  if (message.kind !== 'relayControlRequest') return new Uint8Array(0);
  const meter = c.meters.find((m) => m.commAddress === message.address);
  if (!meter || faults.isUnreachable(meter.meterId, day, meter.concentratorId)) return new Uint8Array(0);
  // meters wake the line with FE bytes before their reply, as masters do before a request
  return encodeDlt645RelayControlReply(message.address, { preamble: 4 });
}

/** Flip one byte between SEQ and CS: the checksum no longer matches, the length still does. */
export function corruptFrame(frame: Uint8Array, pick: number): Uint8Array {
  const out = Uint8Array.from(frame);
  const first = 14;
  const last = out.length - 3;
  const at = first + Math.floor(pick * (last - first + 1));
  out[at] = out[at]! ^ 0xff;
  return out;
}
