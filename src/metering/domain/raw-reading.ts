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
  // head-end exports in Chinese: 表地址 (meter address), 资产编号 (asset number), 冻结日期 (frozen date), 正向有功总 / 尖 峰 平 谷
  表地址: 'meter', 电表地址: 'meter', 通信地址: 'meter', 表号: 'meter', 电表号: 'meter', 资产编号: 'meter', 电表资产编号: 'meter',
  日期: 'date', 抄表日期: 'date', 冻结日期: 'date', 数据日期: 'date',
  总: 'total', 正向有功总: 'total', 正向有功总电能: 'total', 尖: 'sharp', 正向有功尖: 'sharp', 峰: 'peak', 正向有功峰: 'peak',
  平: 'flat', 正向有功平: 'flat', 谷: 'valley', 正向有功谷: 'valley',
};

export function fieldOf(name: string): Field | undefined {
  // a unit in brackets names no other field: "Total (kWh)", "正向有功总（kWh）"
  return ALIASES[name.trim().toLowerCase().replace(/\s*[(（[][^)）\]]*[)）\]]\s*$/, '').replace(/[_\-\s]/g, '')];
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
  // a kWh column without a register column beside it (meter,date,kwh) is the total register
  if (!slots.includes(SLOT.register) && !slots.includes(SLOT.total)) return slots.map((x) => (x === SLOT.value ? SLOT.total : x));
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

// ---------- row checks (the shape rules; the meter rules need the database and run in SQL) ----------

/** Why a staged row is refused before its meter is looked up (parse_error / missing_meter) or after. */
export type StageReason =
  | 'unparseable' | 'missing_meter' | 'bad_date' | 'future_date' | 'not_yet_frozen' | 'date_too_old'
  | 'unknown_register' | 'missing_value' | 'negative_value' | 'not_numeric' | 'out_of_range';

/** Typed staging columns the ingest COPYs; `reason` null = the row's shape is good. */
export const CHECKED_COLUMNS = [
  'seq', 'comm_ref', 'meter_ref', 'reading_date', 'total', 'sharp', 'peak', 'flat', 'valley', 'drift', 'reason', 'raw',
] as const;
export type CheckedRow = [
  seq: number, commRef: string | null, meterRef: string | null, readingDate: string | null, total: string | null, sharp: string | null,
  peak: string | null, flat: string | null, valley: string | null, drift: string | null, reason: StageReason | null, raw: string | null,
];

const REGISTER_NAMES = new Set(['total', 'total_kwh', 'sharp', 'sharp_kwh', 'peak', 'peak_kwh', 'flat', 'flat_kwh', 'valley', 'valley_kwh']);
const COMM_ADDRESS = /^[0-9]{12}$/;
const DATE_SHAPE = /^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$/;
const ANY_NUM = /^-?[0-9]+(\.[0-9]+)?$/;
const NEG = /^-[0-9]+(\.[0-9]+)?$/;
// numeric(16,4): at most 12 integer digits
const NUM = /^[0-9]{1,12}(\.[0-9]+)?$/;
const DRIFT = /^-?[0-9]{1,9}$/;
// the text PostgreSQL prints for such a numeric / integer (no leading zeros): then the raw row can be rebuilt from the typed one
const CANONICAL_NUM = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;
const CANONICAL_INT = /^(0|-?[1-9][0-9]*)$/;

function validDate(d: string): boolean {
  if (!DATE_SHAPE.test(d)) return false;
  const y = Number(d.slice(0, 4));
  const m = Number(d.slice(5, 7));
  const day = Number(d.slice(8, 10));
  const dim = m === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
  return day <= dim;
}

/** 999999999999.99995 and up round to 10^12 in numeric(16,4): too large like a 13th digit. */
function roundsOver(v: string): boolean {
  if (!v.startsWith('999999999999.9999')) return false;
  const fifth = v.charCodeAt(17);
  return fifth >= 53 && fifth <= 57;
}

/** The raw row as the quarantine keeps it when the delivery had no JSON object of its own. */
function rawOf(r: StageRow): string {
  const o: Record<string, string | number> = { line: r[0] };
  const put = (k: string, v: string | null) => {
    if (v !== null) o[k] = v;
  };
  put('meter', r[1]);
  put('date', r[2]);
  put('total', r[3]);
  put('sharp', r[4]);
  put('peak', r[5]);
  put('flat', r[6]);
  put('valley', r[7]);
  put('register', r[8]);
  put('value', r[9]);
  put('clock_drift_s', r[10]);
  return JSON.stringify(o);
}

function registerValue(reg: string | null, name: Register, column: string | null, value: string | null): string | null {
  return column ?? (reg === name || reg === `${name}_kwh` ? value : null);
}

function shapeReason(r: StageRow, reg: string | null, values: (string | null)[], today: string, oldest: string): StageReason | null {
  const dated = r[2] === null ? 'bad_date' : dateReason(r[2], today, oldest);
  if (dated) return dated;
  if (reg !== null && !REGISTER_NAMES.has(reg)) return 'unknown_register';
  if (reg !== null && r[9] === null) return 'missing_value';
  for (const v of values) if (v !== null && NEG.test(v)) return 'negative_value';
  for (const v of values) if (v !== null && !ANY_NUM.test(v)) return 'not_numeric';
  if (r[10] !== null && !DRIFT.test(r[10])) return 'not_numeric';
  for (const v of values) if (v !== null && (!NUM.test(v) || roundsOver(v))) return 'out_of_range';
  return values.every((v) => v === null) ? 'missing_value' : null;
}

/**
 * Check one staged row against the shape rules, in the order the quarantine reasons rank (unparseable,
 * missing meter, [unknown meter and scope in SQL], date, register, value), and type it for COPY.
 * A bad row carries its raw JSON; a good one only when the typed values would not print back as delivered.
 */
export function checkStage(r: StageRow, today: string, oldest: string): CheckedRow {
  // the common head-end row: full registers, canonical values, no single register, a date seen before
  // (no closures here: this runs once per row, millions of times)
  const date = r[2];
  if (r[11] === null && r[1] !== null && r[8] === null && r[9] === null && date !== null && (r[10] === null || CANONICAL_DRIFT.test(r[10]))
      && dateReason(date, today, oldest) === null && goodValues(r)) {
    const ref = r[1];
    return [r[0], COMM_ADDRESS.test(ref) ? ref : null, ref, date, r[3], r[4], r[5], r[6], r[7], r[10], null, r[12]];
  }
  return checkSlow(r, today, oldest);
}

/** At least one register, and every register given is a good value. */
function goodValues(r: StageRow): boolean {
  let present = false;
  for (let i = 3; i <= 7; i++) {
    const v = r[i] as string | null;
    if (v === null) continue;
    if (!GOOD_VALUE.test(v) || roundsOver(v)) return false;
    present = true;
  }
  return present;
}

// a value that is numeric, not negative, at most 12 integer digits and prints back as delivered; a drift that fits and prints back
const GOOD_VALUE = /^(0|[1-9][0-9]{0,11})(\.[0-9]+)?$/;
const CANONICAL_DRIFT = /^(0|-?[1-9][0-9]{0,8})$/;

let dateCache = new Map<string, StageReason | null>();
let dateCacheKey = '';

/**
 * A reading of day d is the daily frozen register (日冻结) the meter captures at 00:00 after d: on the
 * business day `today` (Shanghai) no reading of today can exist yet (not_yet_frozen), nor of a later day.
 */
function dateReason(date: string, today: string, oldest: string): StageReason | null {
  const key = `${today}|${oldest}`;
  if (key !== dateCacheKey || dateCache.size > 10_000) (dateCache = new Map()), (dateCacheKey = key);
  let reason = dateCache.get(date);
  if (reason === undefined) {
    reason = !validDate(date) ? 'bad_date' : date > today ? 'future_date' : date === today ? 'not_yet_frozen' : date < oldest ? 'date_too_old' : null;
    dateCache.set(date, reason);
  }
  return reason;
}

function checkSlow(r: StageRow, today: string, oldest: string): CheckedRow {
  const seq = r[0];
  const pre: StageReason | null = r[11] !== null ? (r[11] as StageReason) : r[1] === null ? 'missing_meter' : null;
  if (pre) return [seq, null, null, null, null, null, null, null, null, null, pre, r[12] ?? rawOf(r)];
  const ref = r[1]!;
  const commRef = COMM_ADDRESS.test(ref) ? ref : null;
  const reg = r[8] === null ? null : r[8].toLowerCase();
  const value = r[9];
  const values = [
    registerValue(reg, 'total', r[3], value), registerValue(reg, 'sharp', r[4], value), registerValue(reg, 'peak', r[5], value),
    registerValue(reg, 'flat', r[6], value), registerValue(reg, 'valley', r[7], value),
  ];
  const reason = shapeReason(r, reg, values, today, oldest);
  if (reason) return [seq, commRef, ref, null, null, null, null, null, null, null, reason, r[12] ?? rawOf(r)];
  let raw = r[12];
  if (raw === null && (reg !== null || value !== null || (r[10] !== null && !CANONICAL_INT.test(r[10])) || values.some((v) => v !== null && !CANONICAL_NUM.test(v)))) {
    raw = rawOf(r);
  }
  return [seq, commRef, ref, r[2], values[0] ?? null, values[1] ?? null, values[2] ?? null, values[3] ?? null, values[4] ?? null, r[10], null, raw];
}

const NEEDS_QUOTES = /[",\n\r]/;

function csvField(v: string | null): string {
  if (v === null) return '';
  return v === '' || NEEDS_QUOTES.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * A checked row as one CSV line for COPY (CHECKED_COLUMNS order); checked values need no quoting.
 * PostgreSQL text and jsonb cannot hold NUL (nor the raw row's JSON its \u0000 escape), and one
 * would fail the whole COPY: it becomes U+FFFD, so its row fails its own checks (unknown meter, not
 * numeric) and is quarantined while the good rows are stored.
 */
export function checkedCsvLine(c: CheckedRow): string {
  const line = `${c[0]},${c[1] ?? ''},${c[1] !== null ? c[2] : csvField(c[2])},${c[3] ?? ''},${c[4] ?? ''},${c[5] ?? ''},${c[6] ?? ''},${c[7] ?? ''},${c[8] ?? ''},${c[9] ?? ''},${c[10] ?? ''},${csvField(c[11])}\n`;
  return line.includes('\u0000') || line.includes('\\u0000') ? line.replace(/\u0000|\\u0000/g, '\uFFFD') : line;
}
