/**
 * The headless simulation's head-end: the day's daily frozen readings of every meter, from the same
 * meter model and fault plan the concentrator simulator answers with, exported as the CSV file a
 * head-end system writes and ingested as `zerotouch ingest readings FILE` does (COPY, validation,
 * quarantine).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AppContext } from '../platform/index.ts';
import { clockDriftSeconds, ingestReadingsFile, type IngestResult } from '../metering/index.ts';
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

/** The day's export: one line per meter read, registers in kWh, the meter clock's drift in seconds. */
export function headEndExport(seed: number, meters: HeadEndMeter[], faults: FaultIndex, day: string): string {
  const lines = ['meter,date,total,sharp,peak,flat,valley,clock_drift_s'];
  for (const m of meters) {
    if (m.offline) continue;
    const r = simulatedDailyReading(seed, faults, m, day);
    if (!r) continue;
    const g = r.registers;
    lines.push(`${m.commAddress},${day},${g.total},${g.sharp},${g.peak},${g.flat},${g.valley},${clockDriftSeconds(day, r.readAt) ?? ''}`);
  }
  lines.push('');
  return lines.join('\n');
}

export async function deliverHeadEndDay(ctx: AppContext, seed: number, meters: HeadEndMeter[], faults: FaultIndex, day: string): Promise<IngestResult> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'zerotouch-head-end-'));
  const file = path.join(dir, `head-end-${day}.csv`);
  try {
    await fs.promises.writeFile(file, headEndExport(seed, meters, faults, day));
    return await ingestReadingsFile(ctx, file);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}
