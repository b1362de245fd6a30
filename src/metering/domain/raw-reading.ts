/**
 * Raw readings as head-ends deliver them (files, MQTT, API batches), mapped onto the staging row the
 * ingest SQL validates. Nothing is judged here: a row only gets a parse error when it has no shape at
 * all; every business check (meter, date, value) runs set-based in SQL so every path rejects alike.
 */

export const REGISTERS = ['total', 'sharp', 'peak', 'flat', 'valley'] as const;
export type Register = (typeof REGISTERS)[number];

/** One raw row: the meter by DL/T 645 address (12 digits) or asset number, a date, and registers. */
export interface RawReading {
  meter?: string;
  commAddress?: string;
  assetNo?: string;
  date?: string;
  total?: string | number | null;
  sharp?: string | number | null;
  peak?: string | number | null;
  flat?: string | number | null;
  valley?: string | number | null;
  /** A single register delivered alone ('total', 'peak', …) with its value. */
  register?: string;
  value?: string | number | null;
  /** Meter clock minus master-station clock, seconds. */
  clockDriftSeconds?: number | string | null;
}

/** Staging columns, all text as delivered; `raw` is the original row as JSON when there was one. */
export const STAGE_COLUMNS = [
  'seq', 'meter_ref', 'date_text', 'total', 'sharp', 'peak', 'flat', 'valley', 'register', 'value', 'drift', 'parse_error', 'raw',
] as const;
export type StageRow = [
  seq: number, meterRef: string | null, date: string | null, total: string | null, sharp: string | null, peak: string | null,
  flat: string | null, valley: string | null, register: string | null, value: string | null, drift: string | null,
  parseError: string | null, raw: string | null,
];

type Field = 'meter' | 'date' | Register | 'register' | 'value' | 'drift';

/** Column names head-ends use for each field (compared lower-case, without '_' and '-'). */
const ALIASES: Record<string, Field> = {
  meter: 'meter', commaddress: 'meter', address: 'meter', meteraddress: 'meter', assetno: 'meter', meterassetno: 'meter', meterno: 'meter',
  date: 'date', readingdate: 'date', day: 'date', frozendate: 'date',
  total: 'total', totalkwh: 'total', sharp: 'sharp', sharpkwh: 'sharp', peak: 'peak', peakkwh: 'peak',
  flat: 'flat', flatkwh: 'flat', valley: 'valley', valleykwh: 'valley',
  register: 'register', value: 'value', kwh: 'value',
  clockdriftseconds: 'drift', clockdrifts: 'drift', clockdrift: 'drift',
};

export function fieldOf(name: string): Field | undefined {
  return ALIASES[name.trim().toLowerCase().replace(/[_\-\s]/g, '')];
}

const SLOT: Record<Field, number> = { meter: 1, date: 2, total: 3, sharp: 4, peak: 5, flat: 6, valley: 7, register: 8, value: 9, drift: 10 };

function text(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : JSON.stringify(v)).trim();
  return s === '' ? null : s;
}

export function emptyStage(seq: number): StageRow {
  return [seq, null, null, null, null, null, null, null, null, null, null, null, null];
}

/** An unparseable line or payload: quarantined with the text it had. */
export function unparseableStage(seq: number, rawText: string, why: string): StageRow {
  const row = emptyStage(seq);
  row[11] = 'unparseable';
  row[12] = JSON.stringify({ line: seq, error: why, text: rawText.slice(0, 2000) });
  return row;
}

/** A JSON value (API, MQTT, JSON lines) as a staging row; the object itself is kept as the raw row. */
export function objectToStage(seq: number, value: unknown): StageRow {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return unparseableStage(seq, JSON.stringify(value) ?? String(value), 'not an object');
  const row = emptyStage(seq);
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const f = fieldOf(k);
    if (f) row[SLOT[f]] ??= text(v);
  }
  row[12] = JSON.stringify(value);
  return row;
}

/** The column slots of a CSV header; throws when it cannot name a meter and a date. */
export function csvHeaderSlots(header: string[]): (number | undefined)[] {
  const slots = header.map((h) => {
    const f = fieldOf(h);
    return f ? SLOT[f] : undefined;
  });
  if (!slots.includes(SLOT.meter) || !slots.includes(SLOT.date)) throw new Error('the header names no meter or no date column');
  return slots;
}

/** Split one CSV line (RFC 4180 quotes allowed). */
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') (cur += '"'), i++;
      else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') out.push(cur), (cur = '');
    else cur += ch;
  }
  out.push(cur);
  return out;
}

/** A CSV data line as a staging row; `seq` is the line number in the file. */
export function csvToStage(seq: number, line: string, slots: (number | undefined)[]): StageRow {
  const cells = splitCsvLine(line);
  if (cells.length !== slots.length) return unparseableStage(seq, line, `expected ${slots.length} columns, found ${cells.length}`);
  const row = emptyStage(seq);
  for (let i = 0; i < cells.length; i++) {
    const slot = slots[i];
    if (slot !== undefined) row[slot] = text(cells[i]);
  }
  return row;
}
