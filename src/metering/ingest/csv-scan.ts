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
  protected pos: number;
  protected line: number;
  protected lineStart = 0;
  protected slowRows: StageRow[] = [];
  private readonly dates = new Map<string, boolean>();
  /** Part of the last plain line (from its meter address). */
  protected part = 0;
  /** Where each cell of the last plain line starts and ends, and its date. */
  protected readonly cells: Int32Array;
  protected date = '';
  readonly stats: ScanStats;

  constructor(
    protected readonly content: string,
    /** Offset just past the header line, and the header's line number. */
    start: number,
    headerLine: number,
    protected readonly slots: (number | undefined)[],
    protected readonly layout: FastLayout | null,
    protected readonly parts: number,
    private readonly today: string,
    private readonly oldest: string,
  ) {
    this.cells = new Int32Array(2 * slots.length);
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
      const b = this.nextLine();
      const a = this.lineStart;
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

  /** Steps over the next line: returns where it ends (before a CR), `lineStart` where it starts. */
  protected nextLine(): number {
    const s = this.content;
    const a = (this.lineStart = this.pos);
    let end = s.indexOf('\n', a);
    this.pos = end < 0 ? s.length : end + 1;
    if (end < 0) end = s.length;
    this.line++;
    return end > a && s.charCodeAt(end - 1) === 13 ? end - 1 : end;
  }

  protected plain(a: number, b: number): boolean {
    const s = this.content;
    const kinds = this.layout!.kinds;
    const cells = this.cells;
    let values = 0;
    let date = '';
    let cell = a;
    for (let i = 0; i < kinds.length; i++) {
      let e = s.indexOf(',', cell);
      if (i === kinds.length - 1) {
        if (e >= 0 && e < b) return false;
        e = b;
      } else if (e < 0 || e >= b) return false;
      cells[2 * i] = cell;
      cells[2 * i + 1] = e;
      switch (kinds[i]) {
        case 'meter':
          if (e - cell !== 12 || !digits(s, cell, e)) return false;
          this.part = (s.charCodeAt(e - 1) - C0) % this.parts;
          break;
        case 'date': {
          if (e - cell !== 10) return false;
          // most lines have the date of the line before, which passed
          if (this.date !== '' && s.startsWith(this.date, cell)) {
            date = this.date;
            break;
          }
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
    if (date === this.date) return true;
    this.date = date;
    if (this.stats.lo === null || date < this.stats.lo) this.stats.lo = date;
    if (this.stats.hi === null || date > this.stats.hi) this.stats.hi = date;
    return true;
  }
}

// ---------- the direct lane: plain lines as binary COPY rows of meter_reading ----------

/** Binary COPY: signature, flags and header-extension length; the trailer. */
export const BINARY_HEADER = Uint8Array.from([80, 71, 67, 79, 80, 89, 10, 255, 13, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
export const BINARY_TRAILER = Uint8Array.from([255, 255]);

/** The meter_reading columns of a direct row, in order. */
export const DIRECT_COLUMNS = [
  'meter_id', 'reading_date', 'total_kwh', 'sharp_kwh', 'peak_kwh', 'flat_kwh', 'valley_kwh', 'quality', 'source', 'received_at', 'clock_drift_s',
];

/**
 * Meter ids by DL/T 645 address (the 12 digits as a number, exact in a double), sorted by address and looked
 * up in place: an export lists meters in address order, so the next line's meter is usually the entry after
 * the last one found (then a gallop and a binary search). Nothing is allocated per line.
 */
export class MeterIndex {
  private keys: Float64Array;
  private ids: Float64Array;
  private n = 0;
  private next = 0;

  /** Meters in the index. */
  get size(): number {
    return this.n;
  }

  /** Position (0 … size - 1) of the meter the last successful get found. */
  found(): number {
    return this.next - 1;
  }

  constructor(size: number) {
    this.keys = new Float64Array(size);
    this.ids = new Float64Array(size);
  }

  /** Record the meter of the address s[a, a + 12) (digits); `seal` once every meter is in. */
  add(s: string, a: number, id: number): void {
    this.keys[this.n] = digitsValue(s, a, 12);
    this.ids[this.n++] = id;
  }

  seal(): void {
    const n = this.n;
    let sorted = true;
    for (let i = 1; i < n && sorted; i++) sorted = this.keys[i - 1]! < this.keys[i]!;
    if (sorted) return;
    const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => this.keys[x]! - this.keys[y]!);
    const keys = new Float64Array(n);
    const ids = new Float64Array(n);
    order.forEach((from, to) => {
      keys[to] = this.keys[from]!;
      ids[to] = this.ids[from]!;
    });
    this.keys = keys;
    this.ids = ids;
  }

  /** The meter of the address s[a, a + 12) (digits), or -1. */
  get(s: string, a: number): number {
    const key = digitsValue(s, a, 12);
    const keys = this.keys;
    const n = this.n;
    let lo = 0;
    let hi = n;
    const i = this.next;
    if (i < n) {
      const k = keys[i]!;
      if (k === key) {
        this.next = i + 1;
        return this.ids[i]!;
      }
      if (k < key) {
        // gallop forward from the last hit
        let step = 1;
        lo = i + 1;
        while (lo + step < n && keys[lo + step]! < key) (lo += step), (step *= 2);
        hi = Math.min(n, lo + step + 1);
      }
    }
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    if (lo < n && keys[lo] === key) {
      this.next = lo + 1;
      return this.ids[lo]!;
    }
    return -1;
  }
}

export interface DirectTarget {
  meters: MeterIndex;
  /** With two parts, meters below this id go to the first, the others to the second (contiguous key ranges). */
  split: number;
  source: string;
  at: Date;
}

// a longer line (a value with hundreds of decimals) goes the staged way: the binary numeric has a bounded scale
const MAX_DIRECT_LINE = 2000;
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const DAY_MS = 86_400_000;
const TWO_32 = 4_294_967_296;


function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >> 8) & 255;
  b[o + 1] = v & 255;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 255;
  b[o + 1] = (v >>> 16) & 255;
  b[o + 2] = (v >>> 8) & 255;
  b[o + 3] = v & 255;
}

/** The decimal digits s[i, i + n) as a number. */
function digitsValue(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) v = v * 10 + s.charCodeAt(i + k) - C0;
  return v;
}

/**
 * A value goodValue passed (digits, optional decimals) as a binary numeric at o: base-10000 digits grouped
 * from the decimal point, the scale as delivered. The server rounds it to the column's scale exactly as it
 * rounds the same text (numeric_recv and numeric_in both apply the type modifier to the same digits).
 */
function putNumeric(buf: Uint8Array, o: number, s: string, a: number, b: number): number {
  let dot = b;
  for (let i = a; i < b; i++) {
    if (s.charCodeAt(i) === DOT) {
      dot = i;
      break;
    }
  }
  const intLen = dot - a === 1 && s.charCodeAt(a) === C0 ? 0 : dot - a;
  const intGroups = (intLen + 3) >> 2;
  const fracAt = dot < b ? dot + 1 : b;
  const fracLen = b - fracAt;
  const fracGroups = (fracLen + 3) >> 2;
  const n = intGroups + fracGroups;
  put32(buf, o, 8 + 2 * n);
  put16(buf, o + 4, n);
  put16(buf, o + 6, n === 0 ? 0 : intGroups - 1);
  put16(buf, o + 8, 0);
  put16(buf, o + 10, fracLen);
  o += 12;
  if (intGroups > 0) {
    const head = intLen - 4 * (intGroups - 1);
    put16(buf, o, digitsValue(s, a, head));
    o += 2;
    for (let i = a + head; i < dot; i += 4, o += 2) put16(buf, o, digitsValue(s, i, 4));
  }
  for (let i = fracAt; i < b; i += 4, o += 2) {
    const k = Math.min(4, b - i);
    put16(buf, o, digitsValue(s, i, k) * (k === 4 ? 1 : k === 3 ? 10 : k === 2 ? 100 : 1000));
  }
  return o;
}

/**
 * The direct lane's scanner: a plain line whose address is a meter's and whose date falls in the month of
 * the first such line becomes a binary COPY row of meter_reading (its part chosen by meter id); other plain
 * lines are kept as reading_fast COPY text (`staged`), every other line as a staging row (`takeSlow`).
 */
export class DirectScanner extends CsvScanner {
  /** The month ('YYYY-MM') of the direct rows: the first direct line's. */
  month: string | null = null;
  /** The first direct row's meter and date. */
  first: { meterId: number; date: string } | null = null;
  /** A meter-day came twice among the direct rows: the general lane must merge (last line wins). */
  repeated = false;
  /** Plain lines not stored directly, as reading_fast COPY text with their line numbers. */
  staged = '';
  stagedRows = 0;
  readonly directRows: number[];
  private readonly days = new Map<string, number | null>();
  /** Days of the month (bit per day) each meter (by index position) has a direct row for. */
  private readonly seen: Uint32Array;
  private monthStart = 0;
  private readonly meterCell: number;
  /** Header cell of each register (total … valley) and of the drift, -1 when the header has none. */
  private readonly registerCells: number[];
  private readonly driftCell: number;
  private readonly tail: Uint8Array;
  private bufs: Uint8Array[];
  private offsets: number[];

  constructor(
    content: string, start: number, headerLine: number, slots: (number | undefined)[], layout: FastLayout, parts: number,
    today: string, oldest: string, private readonly target: DirectTarget,
  ) {
    super(content, start, headerLine, slots, layout, parts, today, oldest);
    const cellOf = (column: string) => layout.columns.indexOf(column) - 1;
    this.meterCell = cellOf('comm_ref');
    this.registerCells = ['total', 'sharp', 'peak', 'flat', 'valley'].map(cellOf);
    this.driftCell = cellOf('drift');
    // quality 'actual', the source, received_at (timestamptz: microseconds since 2000-01-01 UTC)
    const source = Buffer.from(target.source, 'utf8');
    this.tail = new Uint8Array(10 + 4 + source.length + 12);
    const t = new DataView(this.tail.buffer);
    t.setInt32(0, 6);
    this.tail.set(Buffer.from('actual', 'latin1'), 4);
    t.setInt32(10, source.length);
    this.tail.set(source, 14);
    t.setInt32(14 + source.length, 8);
    t.setBigInt64(18 + source.length, BigInt(target.at.getTime() - PG_EPOCH_MS) * 1000n);
    this.directRows = new Array<number>(parts).fill(0);
    this.seen = new Uint32Array(target.meters.size);
    this.bufs = [];
    this.offsets = [];
  }

  /** The next `maxLines` lines: each part's binary COPY rows; the other lines are kept (staged, takeSlow). */
  directSegment(maxLines: number): Uint8Array[] {
    const s = this.content;
    const len = s.length;
    // a binary row takes about two and a half times its line's text
    const size = Math.ceil(Math.min((len - this.pos) * 3, maxLines * 160) / this.parts) + 4096;
    this.bufs = Array.from({ length: this.parts }, () => Buffer.allocUnsafe(size));
    this.offsets = new Array<number>(this.parts).fill(0);
    for (let n = 0; this.pos < len && n < maxLines; n++) {
      const b = this.nextLine();
      const a = this.lineStart;
      if (this.plain(a, b)) {
        if (!this.direct(b - a)) {
          this.staged += `${this.line},${s.slice(a, b)}\n`;
          this.stagedRows++;
        }
        continue;
      }
      const text = s.slice(a, b);
      if (text.trim() !== '') this.slowRows.push(csvToStage(this.line, text, this.slots));
    }
    return this.bufs.map((buf, i) => buf.subarray(0, this.offsets[i]));
  }

  /** The last plain line as a binary row, when its meter is known and its date in the month. */
  private direct(lineLength: number): boolean {
    if (lineLength > MAX_DIRECT_LINE) return false;
    const s = this.content;
    const cells = this.cells;
    const m = cells[2 * this.meterCell]!;
    const meterId = this.target.meters.get(s, m);
    if (meterId < 0) return false;
    const date = this.date;
    let day = this.days.get(date);
    if (day === undefined) {
      if (this.month === null) {
        this.month = date.slice(0, 7);
        this.monthStart = (Date.UTC(+date.slice(0, 4), +date.slice(5, 7) - 1, 1) - PG_EPOCH_MS) / DAY_MS;
      }
      day = date.startsWith(this.month) ? (Date.UTC(+date.slice(0, 4), +date.slice(5, 7) - 1, +date.slice(8, 10)) - PG_EPOCH_MS) / DAY_MS : null;
      this.days.set(date, day);
    }
    if (day === null) return false;
    const position = this.target.meters.found();
    const bit = 1 << (day - this.monthStart);
    if (this.seen[position]! & bit) {
      this.repeated = true;
      return false;
    }
    this.seen[position] = this.seen[position]! | bit;
    this.first ??= { meterId, date };
    const part = this.parts > 1 && meterId >= this.target.split ? 1 : 0;
    let buf = this.bufs[part]!;
    let o = this.offsets[part]!;
    if (o + lineLength + 256 + this.tail.length > buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, o + lineLength + 4096));
      bigger.set(buf.subarray(0, o));
      this.bufs[part] = buf = bigger;
    }
    put16(buf, o, DIRECT_COLUMNS.length);
    put32(buf, o + 2, 8);
    put32(buf, o + 6, Math.floor(meterId / TWO_32));
    put32(buf, o + 10, meterId >>> 0);
    put32(buf, o + 14, 4);
    put32(buf, o + 18, day);
    o += 22;
    const registers = this.registerCells;
    for (let r = 0; r < 5; r++) {
      const c = registers[r]!;
      if (c < 0 || cells[2 * c] === cells[2 * c + 1]) {
        put32(buf, o, -1);
        o += 4;
      } else o = putNumeric(buf, o, s, cells[2 * c]!, cells[2 * c + 1]!);
    }
    // quality, source, received_at: the same bytes on every row
    const tail = this.tail;
    for (let i = 0; i < tail.length; i++) buf[o + i] = tail[i]!;
    o += tail.length;
    const d = this.driftCell;
    if (d < 0 || cells[2 * d] === cells[2 * d + 1]) {
      put32(buf, o, -1);
      o += 4;
    } else {
      const a = cells[2 * d]!;
      const negative = s.charCodeAt(a) === MINUS;
      const drift = digitsValue(s, negative ? a + 1 : a, cells[2 * d + 1]! - (negative ? a + 1 : a));
      put32(buf, o, 4);
      put32(buf, o + 4, negative ? -drift : drift);
      o += 8;
    }
    this.offsets[part] = o;
    this.directRows[part]!++;
    return true;
  }
}


