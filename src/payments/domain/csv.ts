import { AppError } from '../../platform/index.ts';

/** A row of a CSV file with its line number; `problem` says why the row could not be read as fields. */
export interface CsvRow {
  line: number;
  fields: string[];
  problem?: string;
}

/**
 * CSV reader (RFC 4180 quoting: quoted fields, doubled quotes, CRLF), one row per line. A quoted field
 * ends with its line: no value of a payment or settlement file holds a line break, and a quote left
 * open in one row must not swallow the rows after it. A quote inside an unquoted field is a character of it.
 */
export function parseCsv(text: string): CsvRow[] {
  const rows: CsvRow[] = [];
  text.split('\n').forEach((raw, i) => {
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    let started = false;
    for (let j = 0; j < raw.length; j++) {
      const ch = raw[j]!;
      if (quoted) {
        if (ch === '"' && raw[j + 1] === '"') { field += '"'; j++; }
        else if (ch === '"') quoted = false;
        else field += ch;
      } else if (ch === '"' && !started) { quoted = true; started = true; }
      else if (ch === ',') { fields.push(field); field = ''; started = false; }
      else if (ch !== '\r') { field += ch; started = true; }
    }
    fields.push(field);
    if (quoted) rows.push({ line: i + 1, fields, problem: 'a quoted field is not closed on its line' });
    else if (fields.length > 1 || fields[0] !== '') rows.push({ line: i + 1, fields });
  });
  return rows;
}

/** Map rows to objects by the header row (case-insensitive, trimmed). */
export function csvRecords(text: string): { header: string[]; records: { line: number; problem?: string; get: (name: string) => string | undefined; width: number }[] } {
  const rows = parseCsv(text.replace(/^\uFEFF/, ''));
  const header = (rows.shift()?.fields ?? []).map((h) => h.trim().toLowerCase());
  const index = new Map(header.map((h, i) => [h, i]));
  return {
    header,
    records: rows.map((r) => ({
      line: r.line, problem: r.problem, width: r.fields.length,
      get: (name: string) => { const i = index.get(name); return i === undefined ? undefined : r.fields[i]?.trim(); },
    })),
  };
}

/**
 * The text of an uploaded or read CSV file. A NUL byte means a binary or UTF-16 file, no row of which
 * could be stored (the database refuses NUL in text): the file is refused with the line holding it.
 */
export function csvText(body: unknown, what: string): string {
  if (typeof body !== 'string') throw new AppError('IMPORT_BODY_NOT_CSV', `send the ${what} as text/csv`);
  const nul = body.indexOf('\u0000');
  if (nul >= 0) {
    const line = body.slice(0, nul).split('\n').length;
    throw new AppError('IMPORT_BODY_NOT_TEXT', `line ${line} of the ${what} holds a NUL byte: send it as UTF-8 text`);
  }
  return body;
}
