import fs from 'node:fs';
import path from 'node:path';
import { AppError, type AppContext, type Session } from '../../platform/index.ts';
import { csvHeaderSlots, csvToStage, objectToStage, splitCsvLine, unparseableStage, type StageRow } from '../domain/raw-reading.ts';
import { createReadingFast } from '../store/ingest.repository.ts';
import { copyChecked, emptyStats, ingestLoaded, ingestStaged, type IngestResult, type Loaded } from './ingest.ts';
import { CsvScanner, fastLayout } from './csv-scan.ts';
import { ingestDirect, loadMeters, meterEstimate, worthMeters, type Meters } from './direct.ts';

export type ReadingFileFormat = 'csv' | 'jsonl';

/** JSON lines when the first non-blank character opens an object or array; otherwise CSV with a header. */
export function detectFormat(content: string): ReadingFileFormat {
  const first = content.match(/\S/)?.[0];
  return first === '{' || first === '[' ? 'jsonl' : 'csv';
}

function* lines(content: string): Generator<[number, string]> {
  let start = 0;
  let n = 0;
  while (start < content.length) {
    let end = content.indexOf('\n', start);
    if (end < 0) end = content.length;
    n++;
    const text = content.charCodeAt(end - 1) === 13 ? content.slice(start, end - 1) : content.slice(start, end);
    // a byte-order mark (Windows exports) is no part of the first line's data
    const line = start === 0 ? text.replace(/^\uFEFF/, '') : text;
    start = end + 1;
    if (line.trim() !== '') yield [n, line];
  }
}

/** The column names of a CSV header line (after a byte-order mark; quoted names may hold commas). */
function headerNames(line: string): string[] {
  return splitCsvLine(line.replace(/^\uFEFF/, ''));
}

/** Staging rows of a head-end export; the line number is the row's sequence, so errors point at lines. */
export function* stageFileContent(content: string, format = detectFormat(content)): Generator<StageRow> {
  const it = lines(content);
  if (format === 'csv') {
    const head = it.next();
    if (head.done) return;
    const slots = csvHeaderSlots(headerNames(head.value[1]));
    for (const [n, line] of it) yield csvToStage(n, line, slots);
    return;
  }
  for (const [n, line] of it) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (e) {
      yield unparseableStage(n, line, (e as Error).message);
      continue;
    }
    if (Array.isArray(parsed)) for (const item of parsed) yield objectToStage(n, item);
    else yield objectToStage(n, parsed);
  }
}

/**
 * `zerotouch ingest readings FILE`: a readable file is processed even when rows are rejected; a file that
 * cannot be read or whose header names no meter and date fails with INGEST_FILE_UNREADABLE.
 */
export async function ingestReadingsFile(ctx: AppContext, file: string): Promise<IngestResult & { format: ReadingFileFormat }> {
  // a file big enough for the direct lane: the meters are read while the file is (a failure there only
  // means the direct lane reads them itself)
  const meters = prefetchMeters(ctx, file);
  let content: string;
  try {
    content = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    throw new AppError('INGEST_FILE_UNREADABLE', `cannot read ${file}: ${(e as Error).message}`);
  }
  // lines ended by a bare CR (old Mac exports) would read as one header line and every row would vanish unseen
  if (content.includes('\r') && /\r(?!\n)/.test(content)) content = content.replace(/\r\n?/g, '\n');
  const format = detectFormat(content);
  const opts = { origin: path.basename(file) };
  if (format === 'csv') {
    const header = csvHeader(content, file);
    if (!header) return { ...(await ingestStaged(ctx, 'file', [], opts)), format };
    const layout = fastLayout(header.slots);
    const direct = layout ? await ingestDirect(ctx, content, header, layout, opts.origin, { meters }) : null;
    if (direct) return { ...direct, format };
    const sessions = layout ? FILE_SESSIONS : 1;
    return { ...(await ingestLoaded(ctx, 'file', opts, sessions, (ss, today, oldest) => loadCsv(ss, content, header, today, oldest))), format };
  }
  const staged = stageFileContent(content, format);
  return { ...(await ingestStaged(ctx, 'file', staged, opts)), format };
}

// bytes per line of a head-end export, at least: a file this big may be worth the direct lane
const MIN_LINE_BYTES = 40;

/** The meters when the file's size says the direct lane may take it; otherwise (or on any failure) null. */
async function prefetchMeters(ctx: AppContext, file: string): Promise<Meters | null> {
  try {
    const size = (await fs.promises.stat(file)).size;
    if (size < 1 << 16 || !worthMeters(size / MIN_LINE_BYTES, await meterEstimate(ctx.db))) return null;
    return await loadMeters(ctx.db);
  } catch {
    return null;
  }
}

export interface CsvHeader {
  slots: (number | undefined)[];
  /** Line number of the header and the offset just past it. */
  line: number;
  end: number;
}

/** The first non-blank line, as stageFileContent reads it; null for a file without one. */
export function csvHeader(content: string, file: string): CsvHeader | null {
  let start = 0;
  let line = 0;
  while (start < content.length) {
    let end = content.indexOf('\n', start);
    const next = end < 0 ? content.length : end + 1;
    if (end < 0) end = content.length;
    line++;
    const text = content.charCodeAt(end - 1) === 13 ? content.slice(start, end - 1) : content.slice(start, end);
    if (text.trim() !== '') {
      try {
        return { slots: csvHeaderSlots(headerNames(text)), line, end: next };
      } catch (e) {
        throw new AppError('INGEST_FILE_UNREADABLE', `${path.basename(file)}: ${(e as Error).message}`);
      }
    }
    start = next;
  }
  return null;
}

// lines per COPY round: bounds the lines held for the full checks, and node scans the next round while
// the server parses this one
const SEGMENT_LINES = 50_000;
// connections storing the plain lines of one file at once (split by meter): the insert is server CPU
const FILE_SESSIONS = 2;

/**
 * A CSV export into the staging tables: plain lines with their line numbers into each session's
 * reading_fast (split by meter), the others through the full checks into reading_stage.
 */
async function loadCsv(ss: Session[], content: string, header: CsvHeader, today: string, oldest: string): Promise<Loaded> {
  const layout = fastLayout(header.slots);
  if (layout) for (const s of ss) await createReadingFast(s.db, layout.extra);
  const scanner = new CsvScanner(content, header.end, header.line, header.slots, layout, ss.length, today, oldest);
  const stats = emptyStats();
  let inFlight: Promise<unknown> = Promise.resolve();
  while (!scanner.done) {
    const parts = scanner.segment(SEGMENT_LINES);
    const slow = scanner.takeSlow();
    await inFlight;
    // good rows only the full checks take may share a meter-day with plain lines of any part: one session then
    if (ss.length > 1 && stats.good > 0) return { ...stats, fast: null, needsOneSession: true };
    inFlight = allDone(ss.map(async (s, i) => {
      if (layout && parts[i]) await s.copyFrom('reading_fast', layout.columns, [parts[i]!]);
      if (i === 0 && slow.length) await copyChecked(s, slow, today, oldest, stats);
    }));
  }
  await inFlight;
  if (ss.length > 1 && stats.good > 0) return { ...stats, fast: null, needsOneSession: true };
  const f = scanner.stats;
  return {
    ...stats,
    lo: [stats.lo, f.lo].filter((d) => d !== null).sort()[0] ?? null,
    hi: [stats.hi, f.hi].filter((d) => d !== null).sort().at(-1) ?? null,
    fast: layout ? f.fastRows : null,
  };
}

/** Wait for every session's work, then fail with the first failure (no session is left mid-statement). */
async function allDone(work: Promise<unknown>[]): Promise<void> {
  const settled = await Promise.allSettled(work);
  const failed = settled.find((p) => p.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}
