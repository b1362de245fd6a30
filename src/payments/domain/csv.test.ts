import { describe, expect, it } from 'vitest';
import { csvRecords, csvText, parseCsv } from './csv.ts';

describe('payment file CSV', () => {
  it('reads quoted fields, doubled quotes and CRLF', () => {
    expect(parseCsv('a,"b,c","say ""hi"""\r\n1,2,3\r\n')).toEqual([
      { line: 1, fields: ['a', 'b,c', 'say "hi"'] },
      { line: 2, fields: ['1', '2', '3'] },
    ]);
  });

  it('a quote left open spoils its own row only; the rows after it are still read', () => {
    const rows = parseCsv('h1,h2\nR1,1.00\n"R2,2.00\nR3,3.00\nR4,"4.00"\n');
    expect(rows.map((r) => [r.line, r.fields, r.problem])).toEqual([
      [1, ['h1', 'h2'], undefined], [2, ['R1', '1.00'], undefined],
      [3, ['R2,2.00'], 'a quoted field is not closed on its line'],
      [4, ['R3', '3.00'], undefined], [5, ['R4', '4.00'], undefined],
    ]);
  });

  it('a quote inside an unquoted value is a character of it', () => {
    expect(csvRecords('reference,amount\nQ"2,1.00\n').records.map((r) => [r.get('reference'), r.get('amount'), r.problem])).toEqual([['Q"2', '1.00', undefined]]);
  });

  it('a file holding a NUL byte is refused with its line', () => {
    expect(() => csvText('a,b\n1,2\n3\u0000,4\n', 'file')).toThrow(expect.objectContaining({ code: 'IMPORT_BODY_NOT_TEXT', message: expect.stringContaining('line 3') }));
    expect(() => csvText(Buffer.from('x'), 'file')).toThrow(expect.objectContaining({ code: 'IMPORT_BODY_NOT_CSV' }));
  });
});
