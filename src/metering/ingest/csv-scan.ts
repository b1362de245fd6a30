import { checkStage, csvToStage, type StageRow } from '../domain/raw-reading.ts';

/**
 * The fast lane of a head-end CSV export. Most lines of a big file are the plain case: a 12-digit meter
 * address, a good date, canonical register values, no quotes. Such a line is checked here character by
 * character and handed to COPY as it is in the file, after its line number (PostgreSQL parses it into
 * typed columns); every other line goes through the full row checks (csvToStage / checkStage).
 *
 * A plain line is one checkStage would pass unchanged (reason null, no raw text): the fast lane never
 * accepts what the full checks would refuse, it only skips the work for rows they would pass.
 *
 * Plain lines are split into parts by meter address (its last digit), so parts share no meter-day and
 * can be stored by separate sessions at once; each line goes out with its line number in front.
 */

/** What a header column holds in the fast lane, and the column of reading_fast it is copied into. */
type CellKind = 'meter' | 'date' | 'value' | 'drift' | 'empty' | 'other';

export interface FastLayout {
  /** reading_fast columns for the line number and then the header's columns (COPY column list). */
  columns: string[];
  kinds: CellKind[];
  /** Extra text columns of reading_fast for header columns the ingest ignores. */
  extra: string[];
}

const TARGET: Record<number, [string, CellKind]> = {
  1: ['comm_ref', 'meter'], 2: ['reading_date', 'date'], 3: ['total', 'value'], 4: ['sharp', 'value'], 5: ['peak', 'value'],
  6: ['flat', 'value'], 7: ['valley', 'value'], 10: ['drift', 'drift'],
};

/** The fast layout of a header's slots, or null when a field appears twice (the full checks decide which cell counts). */
export function fastLayout(slots: (number | undefined)[]): FastLayout | null {
  const seen = new Set<number>();
  const columns: string[] = ['seq'];
  const kinds: CellKind[] = [];
  const extra: string[] = [];
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i];
    if (slot !== undefined) {
      if (seen.has(slot)) return null;
      seen.add(slot);
    }
    const target = slot === undefined ? undefined : TARGET[slot];
    if (target) {
      columns.push(target[0]);
      kinds.push(target[1]);
    } else {
      // register / value columns must be empty on a plain line; other columns are carried and ignored
      const name = `x${i}`;
      extra.push(name);
      columns.push(name);
      kinds.push(slot === undefined ? 'other' : 'empty');
    }
  }
  return { columns, kinds, extra };
}

const C0 = 48;
const C9 = 57;
const C1 = 49;
const DOT = 46;
const MINUS = 45;
const QUOTE = 34;

/** A register value the full checks pass as it is: 0 or 1–12 digits without a leading zero, optional decimals, not rounding to 10^12. */
function goodValue(s: string, a: number, b: number): boolean {
  let i = a;
  const c = s.charCodeAt(i);
  if (c === C0) i++;
  else if (c >= C1 && c <= C9) {
    i++;
    while (i < b && i - a < 12) {
      const d = s.charCodeAt(i);
      if (d < C0 || d > C9) break;
      i++;
    }
    // twelve nines may round up past the register's range (roundsOver): the full checks decide
    if (i - a === 12 && s.startsWith('999999999999', a)) return false;
  } else return false;
  if (i === b) return true;
  if (s.charCodeAt(i) !== DOT || i + 1 === b) return false;
  for (i++; i < b; i++) {
    const d = s.charCodeAt(i);
    if (d < C0 || d > C9) return false;
  }
  return true;
}

/** A drift the full checks pass as it is: 0, or an optional minus and 1–9 digits without a leading zero. */
function goodDrift(s: string, a: number, b: number): boolean {
  if (b - a === 1 && s.charCodeAt(a) === C0) return true;
  let i = s.charCodeAt(a) === MINUS ? a + 1 : a;
  if (b - i < 1 || b - i > 9) return false;
  const c = s.charCodeAt(i);
  if (c < C1 || c > C9) return false;
  for (i++; i < b; i++) {
    const d = s.charCodeAt(i);
    if (d < C0 || d > C9) return false;
  }
  return true;
}

function digits(s: string, a: number, b: number): boolean {
  for (let i = a; i < b; i++) {
    const d = s.charCodeAt(i);
    if (d < C0 || d > C9) return false;
  }
  return true;
}

/** Text COPY takes as one plain CSV field: no quote and no control character (the comma count is checked per line). */
function plainText(s: string, a: number, b: number): boolean {
  for (let i = a; i < b; i++) {
    const d = s.charCodeAt(i);
    if (d === QUOTE || d < 32 || d === 127) return false;
  }
  return true;
}

export interface ScanStats {
  /** Date range of the plain lines. */
  lo: string | null;
  hi: string | null;
  /** Plain lines per part. */
  fastRows: number[];
}

/**
 * Walks the data lines of a CSV export (after its header) in segments: `segment` gives the COPY text of
 * each part's plain lines and keeps the other lines as staging rows for `takeSlow`. Line numbers are the file's.
 */
export class CsvScanner {
  private pos: number;
  private line: number;
  private slowRows: StageRow[] = [];
  private readonly dates = new Map<string, boolean>();
  /** Part of the last plain line (from its meter address). */
  private part = 0;
  readonly stats: ScanStats;

  constructor(
    private readonly content: string,
    /** Offset just past the header line, and the header's line number. */
    start: number,
    headerLine: number,
    private readonly slots: (number | undefined)[],
    private readonly layout: FastLayout | null,
    private readonly parts: number,
    private readonly today: string,
    private readonly oldest: string,
  ) {
    this.pos = start;
    this.line = headerLine;
    this.stats = { lo: null, hi: null, fastRows: new Array<number>(parts).fill(0) };
  }

  get done(): boolean {
    return this.pos >= this.content.length;
  }

  /** The next `maxLines` lines: COPY text of the plain ones per part; the others wait in `takeSlow()`. */
  segment(maxLines: number): string[] {
    const s = this.content;
    const len = s.length;
    const out: string[] = new Array<string>(this.parts).fill('');
    for (let n = 0; this.pos < len && n < maxLines; n++) {
      const a = this.pos;
      let end = s.indexOf('\n', a);
      this.pos = end < 0 ? len : end + 1;
      if (end < 0) end = len;
      const b = end > a && s.charCodeAt(end - 1) === 13 ? end - 1 : end;
      this.line++;
      if (this.layout && this.plain(a, b)) {
        this.stats.fastRows[this.part]!++;
        out[this.part] += `${this.line},${s.slice(a, b)}\n`;
        continue;
      }
      const text = s.slice(a, b);
      if (text.trim() !== '') this.slowRows.push(csvToStage(this.line, text, this.slots));
    }
    return out;
  }

  /** The lines the last segments did not take. */
  takeSlow(): StageRow[] {
    const rows = this.slowRows;
    this.slowRows = [];
    return rows;
  }

  private plain(a: number, b: number): boolean {
    const s = this.content;
    const kinds = this.layout!.kinds;
    let values = 0;
    let date = '';
    let cell = a;
    for (let i = 0; i < kinds.length; i++) {
      let e = s.indexOf(',', cell);
      if (i === kinds.length - 1) {
        if (e >= 0 && e < b) return false;
        e = b;
      } else if (e < 0 || e >= b) return false;
      switch (kinds[i]) {
        case 'meter':
          if (e - cell !== 12 || !digits(s, cell, e)) return false;
          this.part = (s.charCodeAt(e - 1) - C0) % this.parts;
          break;
        case 'date': {
          if (e - cell !== 10) return false;
          const d = s.slice(cell, e);
          let ok = this.dates.get(d);
          if (ok === undefined) {
            ok = checkStage([0, '000000000000', d, '0', null, null, null, null, null, null, null, null, null], this.today, this.oldest)[10] === null;
            this.dates.set(d, ok);
          }
          if (!ok) return false;
          date = d;
          break;
        }
        case 'value':
          if (e > cell) {
            if (!goodValue(s, cell, e)) return false;
            values++;
          }
          break;
        case 'drift':
          if (e > cell && !goodDrift(s, cell, e)) return false;
          break;
        case 'empty':
          if (e > cell) return false;
          break;
        default:
          if (!plainText(s, cell, e)) return false;
      }
      cell = e + 1;
    }
    if (values === 0) return false;
    if (this.stats.lo === null || date < this.stats.lo) this.stats.lo = date;
    if (this.stats.hi === null || date > this.stats.hi) this.stats.hi = date;
    return true;
  }
}
