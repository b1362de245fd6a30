import { describe, expect, it } from 'vitest';
import { checkedCsvLine, checkStage, csvHeaderSlots, csvToStage, objectToStage, splitCsvLine, type StageRow } from './raw-reading.ts';

describe('raw readings', () => {
  it('maps head-end column names onto the staging row, whatever their spelling', () => {
    const slots = csvHeaderSlots(['Comm_Address', 'Reading Date', 'TOTAL_KWH', 'peak']);
    expect(csvToStage(2, '000000000001, 2026-01-09 ,12.5,', slots)).toEqual([2, '000000000001', '2026-01-09', '12.5', null, null, null, null, null, null, null, null, null]);
  });

  it('reads Chinese column names and a unit in brackets; a kWh column without a register column is the total', () => {
    expect(csvHeaderSlots(['表地址', '冻结日期', '正向有功总(kWh)', '尖', '峰', '平', '谷'])).toEqual(csvHeaderSlots(['meter', 'date', 'total', 'sharp', 'peak', 'flat', 'valley']));
    expect(csvHeaderSlots(['Meter Address', 'Reading Date', 'Total (kWh)', 'Peak [kWh]'])).toEqual(csvHeaderSlots(['meter', 'date', 'total', 'peak']));
    expect(csvHeaderSlots(['meter', 'date', 'kWh'])).toEqual(csvHeaderSlots(['meter', 'date', 'total']));
    // beside a register column, the value is that register's
    expect(csvToStage(2, '000000000001,2026-01-09,peak,12.5', csvHeaderSlots(['meter', 'date', 'register', 'kWh']))[9]).toBe('12.5');
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

describe('row checks', () => {
  const today = '2026-01-10';
  const oldest = '2024-12-06';
  const row = (over: Partial<Record<number, string | null>>): StageRow => {
    const r: StageRow = [7, '000000000001', '2026-01-09', '10', null, null, null, null, null, null, null, null, null];
    for (const [k, v] of Object.entries(over)) (r as unknown[])[Number(k)] = v;
    return r;
  };
  const reason = (over: Partial<Record<number, string | null>>) => checkStage(row(over), today, oldest)[10];

  it('types a good row for COPY and keeps no raw text when the values print back as delivered', () => {
    expect(checkStage(row({ 4: '1.5', 10: '-30' }), today, oldest)).toEqual([7, '000000000001', '000000000001', '2026-01-09', '10', '1.5', null, null, null, '-30', null, null]);
    expect(checkStage(row({ 1: 'A-77' }), today, oldest).slice(0, 3)).toEqual([7, null, 'A-77']);
    expect(checkedCsvLine(checkStage(row({ 1: 'a,"b' }), today, oldest))).toBe('7,,"a,""b",2026-01-09,10,,,,,,,\n');
  });

  it('keeps the raw row of a good row whose text the typed value would not reproduce', () => {
    expect(JSON.parse(checkStage(row({ 3: '0010.50' }), today, oldest)[11]!)).toEqual({ line: 7, meter: '000000000001', date: '2026-01-09', total: '0010.50' });
    const single = checkStage(row({ 3: null, 8: 'PEAK_kwh', 9: '3.25' }), today, oldest);
    expect(single.slice(4, 9)).toEqual([null, null, '3.25', null, null]);
    expect(JSON.parse(single[11]!)).toMatchObject({ register: 'PEAK_kwh', value: '3.25' });
  });

  it('ranks the reasons as the quarantine does', () => {
    expect(checkStage(row({ 11: 'unparseable', 12: '{"line":7}' }), today, oldest).slice(10)).toEqual(['unparseable', '{"line":7}']);
    expect(reason({ 1: null, 2: 'x' })).toBe('missing_meter');
    expect(reason({ 2: '2026-02-29', 3: '-1' })).toBe('bad_date');
    expect(reason({ 2: '2024-02-29' })).toBe('date_too_old');
    expect(reason({ 2: '2028-02-29' })).toBe('future_date');
    expect(reason({ 2: today })).toBe('not_yet_frozen');
    expect(reason({ 2: '2026-1-09' })).toBe('bad_date');
    expect(reason({ 8: 'reactive', 9: null })).toBe('unknown_register');
    expect(reason({ 8: 'total', 9: null })).toBe('missing_value');
    expect(reason({ 3: 'abc', 5: '-2' })).toBe('negative_value');
    expect(reason({ 3: '1e3' })).toBe('not_numeric');
    expect(reason({ 10: '12.5' })).toBe('not_numeric');
    expect(reason({ 3: '1234567890123' })).toBe('out_of_range');
    expect(reason({ 3: '999999999999.99995' })).toBe('out_of_range');
    expect(reason({ 3: '999999999999.99994' })).toBeNull();
    expect(reason({ 3: null })).toBe('missing_value');
  });
});
