import fs from 'node:fs';
import path from 'node:path';
import { AppError, type AppContext } from '../../platform/index.ts';
import { csvHeaderSlots, csvToStage, objectToStage, unparseableStage, type StageRow } from '../domain/raw-reading.ts';
import { ingestStaged, type IngestResult } from './ingest.ts';

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
    const line = content.charCodeAt(end - 1) === 13 ? content.slice(start, end - 1) : content.slice(start, end);
    start = end + 1;
    if (line.trim() !== '') yield [n, line];
  }
}

/** Staging rows of a head-end export; the line number is the row's sequence, so errors point at lines. */
export function* stageFileContent(content: string, format = detectFormat(content)): Generator<StageRow> {
  const it = lines(content);
  if (format === 'csv') {
    const head = it.next();
    if (head.done) return;
    const slots = csvHeaderSlots(head.value[1].replace(/^\uFEFF/, '').split(',').map((h) => h.replace(/^"|"$/g, '')));
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
  let content: string;
  try {
    content = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new AppError('INGEST_FILE_UNREADABLE', `cannot read ${file}: ${(e as Error).message}`);
  }
  const format = detectFormat(content);
  const staged = stageFileContent(content, format);
  let first: IteratorResult<StageRow>;
  try {
    // pull the header eagerly so a file without meter/date columns fails before anything is written
    first = staged.next();
  } catch (e) {
    throw new AppError('INGEST_FILE_UNREADABLE', `${path.basename(file)}: ${(e as Error).message}`);
  }
  const rows = (function* () {
    if (!first.done) yield first.value;
    yield* staged;
  })();
  const result = await ingestStaged(ctx, 'file', rows, { origin: path.basename(file) });
  return { ...result, format };
}
