import { describe, expect, it } from 'vitest';
import { csvHeaderSlots, csvToStage, objectToStage, splitCsvLine } from './raw-reading.ts';

describe('raw readings', () => {
  it('maps head-end column names onto the staging row, whatever their spelling', () => {
    const slots = csvHeaderSlots(['Comm_Address', 'Reading Date', 'TOTAL_KWH', 'peak']);
    expect(csvToStage(2, '000000000001, 2026-01-09 ,12.5,', slots)).toEqual([2, '000000000001', '2026-01-09', '12.5', null, null, null, null, null, null, null, null, null]);
  });

  it('refuses a header without a meter or a date column', () => {
    expect(() => csvHeaderSlots(['total', 'date'])).toThrow(/no meter/);
  });

  it('keeps quoted commas inside one field and marks a short line unparseable', () => {
    expect(splitCsvLine('a,"b,c",d')).toEqual(['a', 'b,c', 'd']);
    const row = csvToStage(3, 'x,y', csvHeaderSlots(['meter', 'date', 'total']));
    expect(row[11]).toBe('unparseable');
  });

  it('keeps a JSON object as its raw row and numbers as text', () => {
    const row = objectToStage(1, { assetNo: 'A1', date: '2026-01-01', register: 'peak', value: 3.25 });
    expect(row.slice(1, 3)).toEqual(['A1', '2026-01-01']);
    expect(row.slice(8, 10)).toEqual(['peak', '3.25']);
    expect(JSON.parse(row[12]!)).toEqual({ assetNo: 'A1', date: '2026-01-01', register: 'peak', value: 3.25 });
    expect(objectToStage(2, 42)[11]).toBe('unparseable');
  });
});
