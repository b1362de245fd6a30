import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { ingestReadings, ingestReadingsFile, upsertReadings } from '../../src/metering/index.ts';
import { meterRefs, readingOf, type MeterRef } from './support.ts';

let ctx: TestContext;
let meters: MeterRef[];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zt-ingest-'));
const file = (name: string, content: string) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
};

beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: '2026-01-10T10:00:00+08:00' });
  meters = await meterRefs(ctx, 12);
});
afterAll(async () => {
  await ctx?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const quarantineCount = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM reading_quarantine`.execute(ctx.db)).rows[0]!.n;

describe('file ingest', () => {
  it('stores good rows, quarantines bad ones with their reason, and a rerun changes nothing', async () => {
    const [a, b, c] = meters;
    const csv = file('headend-20260109.csv', [
      'meter,date,total,sharp,peak,flat,valley',
      `${a!.commAddress},2026-01-09,1200.50,100.10,400.20,400.10,300.10`,
      `${b!.assetNo},2026-01-09,88.5,,,,`,
      `999999999999,2026-01-09,10,,,,`,
      `${c!.commAddress},2026-02-30,10,,,,`,
      `${c!.commAddress},2026-01-11,10,,,,`,
      `${c!.commAddress},2026-01-08,-5,,,,`,
      `${c!.commAddress},2026-01-08,abc,,,,`,
      `${c!.commAddress},2026-01-08,10`,
      `${c!.commAddress},2026-01-08,,,,,`,
    ].join('\n'));
    const first = await ingestReadingsFile(ctx, csv);
    expect(first.format).toBe('csv');
    expect(first.stored).toBe(2);
    expect(first.quarantined).toBe(7);
    expect(first.byReason).toEqual({ unknown_meter: 1, bad_date: 1, future_date: 1, negative_value: 1, not_numeric: 1, unparseable: 1, missing_value: 1 });
    expect(first.errors.map((e) => [e.row, e.reason])).toContainEqual([4, 'unknown_meter']);
    expect(await readingOf(ctx, a!.id, '2026-01-09')).toMatchObject({ total_kwh: '1200.5000', peak_kwh: '400.2000', quality: 'actual', source: 'file' });
    expect(await readingOf(ctx, b!.id, '2026-01-09')).toMatchObject({ total_kwh: '88.5000', sharp_kwh: null });
    const raw = await sql<{ raw: Record<string, unknown> }>`SELECT raw FROM reading_quarantine WHERE reason = 'unknown_meter'`.execute(ctx.db);
    expect(raw.rows[0]!.raw).toMatchObject({ line: 4, meter: '999999999999', total: '10' });

    const before = await quarantineCount();
    const again = await ingestReadingsFile(ctx, csv);
    expect([again.stored, again.quarantined]).toEqual([2, 7]);
    expect(await quarantineCount()).toBe(before);
    const n = await sql<{ n: number }>`SELECT count(*)::int AS n FROM meter_reading WHERE reading_date = '2026-01-09'`.execute(ctx.db);
    expect(n.rows[0]!.n).toBe(2);
  });

  it('reads JSON lines and single-register rows, merging registers of one meter-day', async () => {
    const d = meters[3]!;
    const jsonl = file('headend.jsonl', [
      JSON.stringify({ meter: d.commAddress, date: '2026-01-08', register: 'total', value: 500 }),
      JSON.stringify({ meter: d.commAddress, date: '2026-01-08', register: 'peak', value: '200.25' }),
      JSON.stringify({ meter: d.commAddress, date: '2026-01-08', register: 'reactive', value: 3 }),
      '{not json',
    ].join('\n'));
    const r = await ingestReadingsFile(ctx, jsonl);
    expect(r.format).toBe('jsonl');
    expect(r.stored).toBe(2);
    expect(r.byReason).toEqual({ unknown_register: 1, unparseable: 1 });
    expect(await readingOf(ctx, d.id, '2026-01-08')).toMatchObject({ total_kwh: '500.0000', peak_kwh: '200.2500' });
  });

  it('merges a meter-day delivered twice in full rows (by address and by asset number): the last row wins', async () => {
    const g = meters[2]!;
    const csv = file('repeated.csv', [
      'meter,date,total,peak,clock_drift_s',
      `${g.commAddress},2026-01-07,300.5,100,12`,
      `${g.assetNo},2026-01-07,301.25,,`,
      `${g.commAddress},2026-01-06,290,95,`,
    ].join('\n'));
    const r = await ingestReadingsFile(ctx, csv);
    expect([r.stored, r.quarantined]).toEqual([3, 0]);
    expect(await readingOf(ctx, g.id, '2026-01-07')).toMatchObject({ total_kwh: '301.2500', peak_kwh: '100.0000', quality: 'actual' });
    expect(await readingOf(ctx, g.id, '2026-01-06')).toMatchObject({ total_kwh: '290.0000', peak_kwh: '95.0000' });
    const drift = await sql<{ d: number }>`SELECT clock_drift_s AS d FROM meter_reading WHERE meter_id = ${g.id} AND reading_date = '2026-01-07'`.execute(ctx.db);
    expect(drift.rows[0]!.d).toBe(12);
  });

  it('fails with INGEST_FILE_UNREADABLE for a missing file or a header without meter and date', async () => {
    await expect(ingestReadingsFile(ctx, path.join(dir, 'nope.csv'))).rejects.toMatchObject({ code: 'INGEST_FILE_UNREADABLE' });
    await expect(ingestReadingsFile(ctx, file('bad.csv', 'foo,bar\n1,2\n'))).rejects.toMatchObject({ code: 'INGEST_FILE_UNREADABLE' });
  });
});

describe('ingestReadings', () => {
  it('an automatic reading never overwrites an on-site re-read, but replaces an estimate', async () => {
    const e = meters[4]!;
    await upsertReadings(ctx.db, ctx.clock.now(), [
      { meterId: e.id, readingDate: '2026-01-05', totalKwh: '70', quality: 're_read', source: 'manual' },
      { meterId: e.id, readingDate: '2026-01-06', totalKwh: '75', quality: 'estimated', source: 'estimate' },
    ]);
    const r = await ingestReadings(ctx, 'api', [
      { meter: e.commAddress, date: '2026-01-05', total: '71' },
      { meter: e.commAddress, date: '2026-01-06', total: '76', peak: '30' },
    ]);
    expect(r.stored).toBe(2);
    expect(await readingOf(ctx, e.id, '2026-01-05')).toMatchObject({ total_kwh: '70.0000', quality: 're_read' });
    expect(await readingOf(ctx, e.id, '2026-01-06')).toMatchObject({ total_kwh: '76.0000', peak_kwh: '30.0000', quality: 'actual' });
  });

  it('the registers a person read at a meter exchange stay as read when the day\'s automatic readings arrive', async () => {
    // the exchange stores the old meter's closing and the new meter's starting register on the exchange day (actual, manual)
    const [old, fresh] = (await meterRefs(ctx, 27)).slice(25) as [MeterRef, MeterRef];
    await upsertReadings(ctx.db, ctx.clock.now(), [
      { meterId: old.id, readingDate: '2026-01-04', totalKwh: '5230.5', quality: 'actual', source: 'manual' },
      { meterId: fresh.id, readingDate: '2026-01-04', totalKwh: '0.5', quality: 'actual', source: 'manual' },
    ]);
    // the daily frozen registers of the exchange day, by the API, a head-end file (plain lines) and the front-end
    await ingestReadings(ctx, 'api', [{ meter: fresh.commAddress, date: '2026-01-04', total: '3.25' }]);
    await ingestReadingsFile(ctx, file('exchange-day.csv', ['meter,date,total', `${old.commAddress},2026-01-04,5231`, `${fresh.commAddress},2026-01-04,3.25`].join('\n')));
    await upsertReadings(ctx.db, ctx.clock.now(), [{ meterId: fresh.id, readingDate: '2026-01-04', totalKwh: '3.25', quality: 'actual', source: 'frontend' }]);
    expect(await readingOf(ctx, old.id, '2026-01-04')).toMatchObject({ total_kwh: '5230.5000', source: 'manual' });
    expect(await readingOf(ctx, fresh.id, '2026-01-04')).toMatchObject({ total_kwh: '0.5000', source: 'manual' });
    // the next day is the new meter's own
    await ingestReadings(ctx, 'api', [{ meter: fresh.commAddress, date: '2026-01-05', total: '9' }]);
    expect(await readingOf(ctx, fresh.id, '2026-01-05')).toMatchObject({ total_kwh: '9.0000', source: 'api' });
  });

  it('quarantines a reading older than the policy allows and a value too large for the register', async () => {
    const f = meters[5]!;
    const r = await ingestReadings(ctx, 'api', [
      { meter: f.commAddress, date: '2020-01-01', total: '1' },
      { meter: f.commAddress, date: '2026-01-09', total: '12345678901234' },
      'just a string',
    ]);
    expect(r.byReason).toEqual({ date_too_old: 1, out_of_range: 1, unparseable: 1 });
    expect(r.stored).toBe(0);
  });
});

describe('file ingest: plain lines (the COPY fast lane)', () => {
  const lineOf = (m: MeterRef, date: string, total: string, rest = ',,,') => `${m.commAddress},${date},${total},${rest}`;

  it('stores plain lines, quarantines the others with the line number they had (blank and CRLF lines counted), and a rerun changes nothing', async () => {
    const [h, i, m] = [meters[6]!, meters[7]!, meters[11]!];
    await sql`UPDATE meter SET asset_no = '666666666666' WHERE id = ${m.id}`.execute(ctx.db);
    const csv = file('plain.csv', [
      '',
      'meter,date,total,sharp,peak,flat,valley,clock_drift_s,comment',
      `${h.commAddress},2026-01-02,500.25,50,150,200,100.25,-12,ok`,
      '',
      `888888888888,2026-01-02,10,,,,,,`,
      `${i.commAddress},2026-01-02,0,,,,,,\r`,
      `${i.commAddress},2026-01-02x,5,,,,,,`,
      `${h.commAddress},2026-01-03,510,,,,,,plain text`,
      `666666666666,2026-01-03,12.5,,,,,,`,
      `${i.commAddress},2026-01-03,7.5,,,,,,`,
      `${i.commAddress},2026-01-04,999999999999.99999,,,,,,`,
    ].join('\n'));
    const first = await ingestReadingsFile(ctx, csv);
    expect([first.stored, first.quarantined]).toEqual([5, 3]);
    expect(first.byReason).toEqual({ unknown_meter: 1, bad_date: 1, out_of_range: 1 });
    expect(first.errors.map((e) => [e.row, e.reason])).toEqual([[5, 'unknown_meter'], [7, 'bad_date'], [11, 'out_of_range']]);
    expect(await readingOf(ctx, m.id, '2026-01-03')).toMatchObject({ total_kwh: '12.5000' });
    const raw = await sql<{ raw: Record<string, unknown> }>`SELECT raw FROM reading_quarantine WHERE origin = 'plain.csv' AND reason = 'unknown_meter'`.execute(ctx.db);
    expect(raw.rows.map((r) => r.raw)).toEqual([{ line: 5, meter: '888888888888', date: '2026-01-02', total: '10' }]);
    expect(await readingOf(ctx, h.id, '2026-01-02')).toMatchObject({ total_kwh: '500.2500', sharp_kwh: '50.0000', valley_kwh: '100.2500', quality: 'actual', source: 'file' });
    expect(await readingOf(ctx, h.id, '2026-01-03')).toMatchObject({ total_kwh: '510.0000' });
    expect(await readingOf(ctx, i.id, '2026-01-02')).toMatchObject({ total_kwh: '0.0000' });
    expect(await readingOf(ctx, i.id, '2026-01-03')).toMatchObject({ total_kwh: '7.5000' });
    const drift = await sql<{ d: number }>`SELECT clock_drift_s AS d FROM meter_reading WHERE meter_id = ${h.id} AND reading_date = '2026-01-02'`.execute(ctx.db);
    expect(drift.rows[0]!.d).toBe(-12);

    const before = await quarantineCount();
    const again = await ingestReadingsFile(ctx, csv);
    expect([again.stored, again.quarantined, again.errors.length]).toEqual([5, 3, 3]);
    expect(await quarantineCount()).toBe(before);
    const n = await sql<{ n: number }>`SELECT count(*)::int AS n FROM meter_reading WHERE meter_id IN (${h.id}, ${i.id})`.execute(ctx.db);
    expect(n.rows[0]!.n).toBe(4);
  });

  it('a rerun with a corrected value updates it; a meter-day twice in plain lines keeps the last', async () => {
    const [h, j] = [meters[6]!, meters[8]!];
    const corrected = await ingestReadingsFile(ctx, file('corrected.csv', ['meter,date,total', lineOf(h, '2026-01-02', '501', '').slice(0, -1), `${j.commAddress},2026-01-02,42`].join('\n')));
    expect(corrected.stored).toBe(2);
    expect(await readingOf(ctx, h.id, '2026-01-02')).toMatchObject({ total_kwh: '501.0000', sharp_kwh: '50.0000' });
    const twice = await ingestReadingsFile(ctx, file('twice.csv', ['meter,date,total,peak', `${j.commAddress},2026-01-04,60,20`, `${j.commAddress},2026-01-04,61,`].join('\n')));
    expect([twice.stored, twice.quarantined]).toEqual([2, 0]);
    expect(await readingOf(ctx, j.id, '2026-01-04')).toMatchObject({ total_kwh: '61.0000', peak_kwh: '20.0000' });
  });

  it('replaces an estimate, never an on-site re-read, and finds a 12-digit asset number that is no address', async () => {
    const [k, l] = [meters[9]!, meters[10]!];
    await upsertReadings(ctx.db, ctx.clock.now(), [
      { meterId: k.id, readingDate: '2026-01-02', totalKwh: '70', quality: 're_read', source: 'manual' },
      { meterId: k.id, readingDate: '2026-01-03', totalKwh: '75', peakKwh: '9', quality: 'estimated', source: 'estimate' },
    ]);
    await sql`UPDATE meter SET asset_no = '777777777777' WHERE id = ${l.id}`.execute(ctx.db);
    const r = await ingestReadingsFile(ctx, file('manual.csv', [
      'meter,date,total', `${k.commAddress},2026-01-02,71`, `${k.commAddress},2026-01-03,76`, '777777777777,2026-01-03,33',
    ].join('\n')));
    expect([r.stored, r.quarantined]).toEqual([3, 0]);
    expect(await readingOf(ctx, k.id, '2026-01-02')).toMatchObject({ total_kwh: '70.0000', quality: 're_read' });
    expect(await readingOf(ctx, k.id, '2026-01-03')).toMatchObject({ total_kwh: '76.0000', peak_kwh: null, quality: 'actual' });
    expect(await readingOf(ctx, l.id, '2026-01-03')).toMatchObject({ total_kwh: '33.0000', source: 'file' });
  });
  it('a day of new plain lines goes straight in, the refused lines beside it; the same file again changes nothing', async () => {
    const [h, i, j] = [meters[6]!, meters[7]!, meters[8]!];
    const csv = file('day.csv', [
      'meter,date,total,peak,clock_drift_s',
      `${h.commAddress},2026-01-05,520.5,100,3`,
      `${i.commAddress},2026-01-05,9,,`,
      `${j.commAddress},2026-01-05,-1,,`,
      `${j.commAddress},2026-01-05,70,,`,
    ].join('\n'));
    const first = await ingestReadingsFile(ctx, csv);
    expect([first.stored, first.quarantined]).toEqual([3, 1]);
    expect(first.errors).toEqual([{ row: 4, reason: 'negative_value' }]);
    expect(await readingOf(ctx, h.id, '2026-01-05')).toMatchObject({ total_kwh: '520.5000', peak_kwh: '100.0000', quality: 'actual', source: 'file' });
    expect(await readingOf(ctx, j.id, '2026-01-05')).toMatchObject({ total_kwh: '70.0000' });
    const before = await quarantineCount();
    const again = await ingestReadingsFile(ctx, csv);
    expect([again.stored, again.quarantined]).toEqual([3, 1]);
    expect(await quarantineCount()).toBe(before);
    const n = await sql<{ n: number }>`SELECT count(*)::int AS n FROM meter_reading WHERE reading_date = '2026-01-05' AND meter_id IN (${h.id}, ${i.id}, ${j.id})`.execute(ctx.db);
    expect(n.rows[0]!.n).toBe(3);
  });

  it('a stored meter-day twice in a later file, one copy equal to what is stored: the last line wins either way', async () => {
    const [h, i] = [meters[6]!, meters[7]!];
    const header = 'meter,date,total,sharp,peak,flat,valley';
    const stored = '100,10,30,40,20';
    const changed = '150,15,45,60,30';
    await ingestReadingsFile(ctx, file('stored.csv', [header, `${h.commAddress},2026-01-07,${stored}`, `${i.commAddress},2026-01-07,${stored}`].join('\n')));
    const r = await ingestReadingsFile(ctx, file('both-orders.csv', [
      header,
      `${h.commAddress},2026-01-07,${stored}`, `${h.commAddress},2026-01-07,${changed}`,
      `${i.commAddress},2026-01-07,${changed}`, `${i.commAddress},2026-01-07,${stored}`,
    ].join('\n')));
    expect([r.stored, r.quarantined]).toEqual([4, 0]);
    expect(await readingOf(ctx, h.id, '2026-01-07')).toMatchObject({ total_kwh: '150.0000', valley_kwh: '30.0000' });
    expect(await readingOf(ctx, i.id, '2026-01-07')).toMatchObject({ total_kwh: '100.0000', valley_kwh: '20.0000' });
  });
});

describe('file ingest: what head-end exports look like', () => {
  let more: MeterRef[];
  beforeAll(async () => {
    more = (await meterRefs(ctx, 20)).slice(12);
  });

  it('reads JSON lines that start with a byte-order mark', async () => {
    const m = more[0]!;
    const r = await ingestReadingsFile(ctx, file('bom.jsonl', `\uFEFF${JSON.stringify({ meter: m.commAddress, date: '2026-01-08', total: '15.5' })}\n`));
    expect([r.format, r.stored, r.quarantined]).toEqual(['jsonl', 1, 0]);
    expect(await readingOf(ctx, m.id, '2026-01-08')).toMatchObject({ total_kwh: '15.5000' });
  });

  it('reads a file whose lines end in a bare CR (old Mac exports) instead of losing every row unseen', async () => {
    const [m, n] = [more[3]!, more[4]!];
    const r = await ingestReadingsFile(ctx, file('cr.csv', `meter,date,total\r${m.commAddress},2026-01-07,31.5\r${n.commAddress},2026-02-30,1\r`));
    expect([r.stored, r.quarantined]).toEqual([1, 1]);
    expect(r.errors).toEqual([{ row: 3, reason: 'bad_date' }]);
    expect(await readingOf(ctx, m.id, '2026-01-07')).toMatchObject({ total_kwh: '31.5000' });
  });

  it('reads a header whose quoted column names hold commas, in any order, with a BOM and CRLF', async () => {
    const [m, n] = [more[1]!, more[2]!];
    const r = await ingestReadingsFile(ctx, file('quoted-header.csv', `\uFEFF${[
      '"date","note, free text","meter","total"',
      `2026-01-08,"read ok, no alarm",${m.commAddress},21.25`,
      `2026-01-08,plain,${n.commAddress},22`,
    ].join('\r\n')}\r\n`));
    expect([r.stored, r.quarantined]).toEqual([2, 0]);
    expect(await readingOf(ctx, m.id, '2026-01-08')).toMatchObject({ total_kwh: '21.2500' });
    expect(await readingOf(ctx, n.id, '2026-01-08')).toMatchObject({ total_kwh: '22.0000' });
  });
});

describe('readings of a day that is not over', () => {
  it('a head-end file with rows dated today quarantines them as not_yet_frozen and stores the rest of the batch', async () => {
    const [a, b, c, d] = (await meterRefs(ctx, 24)).slice(20);
    // the day's frozen register is captured at 00:00 after it: on 2026-01-10 (the clock's day) none of 2026-01-10 exists yet
    const csv = file('delivered-early.csv', [
      'meter,date,total',
      `${a!.commAddress},2026-01-09,100`,
      `${a!.commAddress},2026-01-10,101`,
      `${b!.commAddress},2026-01-10,7`,
      `${c!.commAddress},2026-01-11,9`,
      `${d!.commAddress},2026-01-09,0012.5`,
    ].join('\n'));
    const r = await ingestReadingsFile(ctx, csv);
    expect([r.stored, r.quarantined]).toEqual([2, 3]);
    expect(r.byReason).toEqual({ not_yet_frozen: 2, future_date: 1 });
    expect(r.errors).toEqual([{ row: 3, reason: 'not_yet_frozen' }, { row: 4, reason: 'not_yet_frozen' }, { row: 5, reason: 'future_date' }]);
    expect(await readingOf(ctx, a!.id, '2026-01-09')).toMatchObject({ total_kwh: '100.0000' });
    expect(await readingOf(ctx, d!.id, '2026-01-09')).toMatchObject({ total_kwh: '12.5000' });
    expect(await readingOf(ctx, a!.id, '2026-01-10')).toBeUndefined();
    expect(await readingOf(ctx, b!.id, '2026-01-10')).toBeUndefined();
    const q = await sql<{ raw: Record<string, unknown> }>`SELECT raw FROM reading_quarantine WHERE origin = 'delivered-early.csv' AND reason = 'not_yet_frozen' ORDER BY id`.execute(ctx.db);
    expect(q.rows.map((x) => x.raw)).toEqual([
      { line: 3, meter: a!.commAddress, date: '2026-01-10', total: '101' }, { line: 4, meter: b!.commAddress, date: '2026-01-10', total: '7' },
    ]);
    // JSON lines take the full checks
    const jsonl = await ingestReadingsFile(ctx, file('delivered-early.jsonl', JSON.stringify({ meter: b!.commAddress, date: '2026-01-10', register: 'total', value: 8 })));
    expect([jsonl.stored, jsonl.byReason]).toEqual([0, { not_yet_frozen: 1 }]);
  });

  it('the day is the Shanghai business day of the clock: late in the evening it is refused, past midnight it is taken', async () => {
    const e = (await meterRefs(ctx, 25))[24]!;
    const line = file('after-midnight.csv', ['meter,date,total', `${e.commAddress},2026-01-10,55.5`].join('\n'));
    try {
      ctx.clock.set('2026-01-10T23:59:00+08:00');
      expect((await ingestReadingsFile(ctx, line)).byReason).toEqual({ not_yet_frozen: 1 });
      // 00:05 in Shanghai is still 2026-01-10 in UTC
      ctx.clock.set('2026-01-11T00:05:00+08:00');
      const r = await ingestReadingsFile(ctx, line);
      expect([r.stored, r.quarantined]).toEqual([1, 0]);
      expect(await readingOf(ctx, e.id, '2026-01-10')).toMatchObject({ total_kwh: '55.5000', source: 'file' });
    } finally {
      ctx.clock.set('2026-01-10T10:00:00+08:00');
    }
  });
});
