/** Minimal RFC 4180 CSV reader: quoted fields, doubled quotes, CRLF. Returns rows with their line number. */
export function parseCsv(text: string): { line: number; fields: string[] }[] {
  const rows: { line: number; fields: string[] }[] = [];
  let field = '';
  let fields: string[] = [];
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  const endRow = () => {
    fields.push(field);
    if (fields.length > 1 || fields[0] !== '') rows.push({ line: rowLine, fields });
    fields = [];
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (ch === '"') quoted = false;
      else { if (ch === '\n') line++; field += ch; }
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { fields.push(field); field = ''; }
    else if (ch === '\n') { endRow(); line++; rowLine = line; }
    else if (ch !== '\r') field += ch;
  }
  if (field !== '' || fields.length) endRow();
  return rows;
}

/** Map rows to objects by the header row (case-insensitive, trimmed). */
export function csvRecords(text: string): { header: string[]; records: { line: number; get: (name: string) => string | undefined; width: number }[] } {
  const rows = parseCsv(text.replace(/^\uFEFF/, ''));
  const header = (rows.shift()?.fields ?? []).map((h) => h.trim().toLowerCase());
  const index = new Map(header.map((h, i) => [h, i]));
  return {
    header,
    records: rows.map((r) => ({ line: r.line, width: r.fields.length, get: (name: string) => { const i = index.get(name); return i === undefined ? undefined : r.fields[i]?.trim(); } })),
  };
}
