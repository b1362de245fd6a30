/**
 * The headless simulation's head-end: the day's daily frozen readings of every meter, from the same
 * meter model and fault plan the concentrator simulator answers with, delivered as a head-end file
 * export through the ingest path (COPY, validation, quarantine).
 */
import type { AppContext } from '../platform/index.ts';
import { clockDriftSeconds, ingestStaged, type IngestResult } from '../metering/index.ts';
import type { StageRow } from '../metering/domain/raw-reading.ts';
import { simulatedDailyReading } from './concentrator-answers.ts';
import type { FaultIndex } from './concentrator-faults.ts';
import type { SimConcentrator, SimMeter } from './concentrator-fleet.ts';

export interface HeadEndMeter extends SimMeter {
  commAddress: string;
  offline: boolean;
}

export function headEndMeters(fleet: SimConcentrator[], addresses: Map<number, string>, faults: FaultIndex): HeadEndMeter[] {
  return fleet.flatMap((c) =>
    c.meters.map((m) => ({ ...m, commAddress: addresses.get(m.meterId)!, offline: faults.offline.has(c.concentratorId) || faults.mute.has(c.concentratorId) })),
  );
}

export async function deliverHeadEndDay(ctx: AppContext, seed: number, meters: HeadEndMeter[], faults: FaultIndex, day: string): Promise<IngestResult> {
  function* rows(): Generator<StageRow> {
    let seq = 0;
    for (const m of meters) {
      if (m.offline) continue;
      const r = simulatedDailyReading(seed, faults, m, day);
      if (!r) continue;
      const drift = clockDriftSeconds(day, r.readAt);
      yield [++seq, m.commAddress, day, r.registers.total, r.registers.sharp, r.registers.peak, r.registers.flat, r.registers.valley,
        null, null, drift === null ? null : String(drift), null, null];
    }
  }
  return ingestStaged(ctx, 'file', rows(), { origin: `head-end-${day}` });
}
