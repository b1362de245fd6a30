import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { ingestReadingsFile, upsertReadings } from '../../src/metering/index.ts';
import { ingestDirect } from '../../src/metering/ingest/direct.ts';
import { csvHeader } from '../../src/metering/ingest/file.ts';
import { fastLayout } from '../../src/metering/ingest/csv-scan.ts';
import { readingOf } from './support.ts';

/**
 * The direct lane of a big CSV export (binary COPY straight into meter_reading): what it stores must be
 * what PostgreSQL makes of the delivered text, and whatever it cannot decide must end as the general
 * lane would store it.
 */

interface Meter {
  id: number;
  address: string;
}

let ctx: TestContext;
let meters: Meter[];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zt-ingest-direct-'));
const HEADER = 'meter,date,total,sharp,peak,flat,valley,clock_drift_s,comment';

beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: '2026-01-10T10:00:00+08:00' });
  const r = await sql<Meter>`SELECT id::int AS id, comm_address AS address FROM meter ORDER BY id`.execute(ctx.db);
  meters = r.rows;
});
afterAll(async () => {
  await ctx?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const write = (name: string, lines: string[]) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, [HEADER, ...lines].join('\n'));
  return p;
};

/** The direct lane alone, in small segments so that the COPYs stream over several rounds. */
const direct = (content: string, segmentLines = 50) => {
  const header = csvHeader(content, 'direct.csv')!;
  return ingestDirect(ctx, content, header, fastLayout(header.slots)!, 'direct.csv', { segmentLines });
};

const TOTALS = ['0', '0.5', '10000', '1.23456', '123456789012.9999', '7.00005', '99.99995', '1234.5', '42', '0.0001', '0.00005', '100000000.1'];
const DRIFTS = ['', '0', '-12', '300', '-999999999', '999999999'];
const COMMENTS = ['', 'ok', 'plain text'];

/** A plain line for meter i on date d, with values that exercise the binary encoding. */
function lineOf(i: number, date: string, k = 0): string[] {
  const m = meters[i]!;
  const total = TOTALS[(i + k) % TOTALS.length]!;
  const sharp = i % 5 === 0 ? '' : String((i * 7 + k) % 1000);
  const peak = i % 3 === 0 ? '' : `${i}.${String(k).padStart(2, '0')}`;
  return [m.address, date, total, sharp, peak, '', i % 7 === 0 ? '' : '1.5', DRIFTS[i % DRIFTS.length]!, COMMENTS[i % COMMENTS.length]!];
}

/** How many of the lines are stored exactly as PostgreSQL types their text (numeric(16,4), integer), by this ingest. */
async function storedAsTyped(lines: string[][]): Promise<number> {
  const rows = lines.map(([address, date, total, sharp, peak, flat, valley, drift]) => ({ address, date, total, sharp, peak, flat, valley, drift }));
  const r = await sql<{ n: number }>`
    SELECT count(*)::int AS n
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(address text, date date, total text, sharp text, peak text, flat text, valley text, drift text)
    JOIN meter m ON m.comm_address = x.address
    JOIN meter_reading r ON r.meter_id = m.id AND r.reading_date = x.date
    WHERE (r.total_kwh, r.sharp_kwh, r.peak_kwh, r.flat_kwh, r.valley_kwh, r.clock_drift_s)
          IS NOT DISTINCT FROM (nullif(x.total, '')::numeric(16,4), nullif(x.sharp, '')::numeric(16,4), nullif(x.peak, '')::numeric(16,4),
                                nullif(x.flat, '')::numeric(16,4), nullif(x.valley, '')::numeric(16,4), nullif(x.drift, '')::integer)
      AND r.quality = 'actual' AND r.source = 'file' AND r.received_at = ${ctx.clock.now()}::timestamptz`.execute(ctx.db);
  return r.rows[0]!.n;
}

const readingsHash = async () =>
  (await sql<{ h: string }>`
    SELECT md5(string_agg(concat_ws(',', meter_id, reading_date, total_kwh, sharp_kwh, peak_kwh, flat_kwh, valley_kwh, quality, source, received_at, clock_drift_s), ';'
      ORDER BY meter_id, reading_date)) AS h FROM meter_reading`.execute(ctx.db)).rows[0]!.h;
const quarantineCount = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM reading_quarantine`.execute(ctx.db)).rows[0]!.n;
const countOn = async (date: string) =>
  (await sql<{ n: number }>`SELECT count(*)::int AS n FROM meter_reading WHERE reading_date = ${date}::date`.execute(ctx.db)).rows[0]!.n;

describe('file ingest: the direct lane', () => {
  it('stores a big export as PostgreSQL types its text, the lines it cannot take beside it; a rerun changes nothing', async () => {
    const last = meters.at(-1)!;
    await sql`UPDATE meter SET asset_no = '777777777777' WHERE id = ${meters[1]!.id}`.execute(ctx.db);
    const plain = [...meters.map((_, i) => lineOf(i, '2026-01-06')), ...meters.map((_, i) => lineOf(i, '2026-01-07', 1))];
    const content = [HEADER, ...plain.map((l) => l.join(',')),
      '',
      '888888888888,2026-01-06,10,,,,,,',
      '777777777777,2026-01-08,33,,,,,,',
      `${last.address},2025-12-31,5,,,,,-3,`,
      `${last.address},2026-01-06x,5,,,,,,`,
      `${last.address},2026-01-09,-1,,,,,,`,
      `${last.address},2026-01-11,1,,,,,,\r`,
    ].join('\n');
    const r = (await direct(content))!;
    expect(r).not.toBeNull();
    expect([r.stored, r.quarantined]).toEqual([plain.length + 2, 4]);
    expect(r.byReason).toEqual({ unknown_meter: 1, bad_date: 1, negative_value: 1, future_date: 1 });
    const n = plain.length + 1;
    expect(r.errors.map((e) => [e.row, e.reason])).toEqual([[n + 2, 'unknown_meter'], [n + 5, 'bad_date'], [n + 6, 'negative_value'], [n + 7, 'future_date']]);
    expect(await storedAsTyped(plain)).toBe(plain.length);
    expect(await readingOf(ctx, meters[1]!.id, '2026-01-08')).toMatchObject({ total_kwh: '33.0000', quality: 'actual', source: 'file' });
    expect(await readingOf(ctx, last.id, '2025-12-31')).toMatchObject({ total_kwh: '5.0000' });
    expect([await countOn('2026-01-06'), await countOn('2026-01-07')]).toEqual([meters.length, meters.length]);

    // the same file again: its first meter-day is stored, so the rows are matched against the stored ones; nothing changes
    const before = [await readingsHash(), await quarantineCount()];
    const again = (await direct(content))!;
    expect([again.stored, again.quarantined, again.errors.length]).toEqual([plain.length + 2, 4, 4]);
    expect([await readingsHash(), await quarantineCount()]).toEqual(before);
    const third = await ingestReadingsFile(ctx, write('direct.csv', content.split('\n').slice(1)));
    expect([third.stored, third.quarantined]).toEqual([plain.length + 2, 4]);
    expect([await readingsHash(), await quarantineCount()]).toEqual(before);
  });

  it('a meter-day stored already, met mid-file, rolls its part back; the general lane then keeps the on-site re-read and replaces the estimate', async () => {
    const [low, high] = [meters[3]!, meters.at(-2)!];
    await upsertReadings(ctx.db, ctx.clock.now(), [
      { meterId: high.id, readingDate: '2026-01-08', totalKwh: '70', quality: 're_read', source: 'manual' },
      { meterId: low.id, readingDate: '2026-01-08', totalKwh: '75', peakKwh: '9', quality: 'estimated', source: 'estimate' },
    ]);
    const plain = meters.map((_, i) => lineOf(i, '2026-01-08', 2));
    const content = [HEADER, ...plain.map((l) => l.join(','))].join('\n');
    expect(await direct(content)).toBeNull();
    // both parts met a stored meter-day: nothing went in but the two above and the asset-number line of the first test
    expect(await countOn('2026-01-08')).toBe(3);
    const r = await ingestReadingsFile(ctx, write('late.csv', plain.map((l) => l.join(','))));
    expect([r.stored, r.quarantined]).toEqual([meters.length, 0]);
    expect(await readingOf(ctx, high.id, '2026-01-08')).toMatchObject({ total_kwh: '70.0000', quality: 're_read' });
    // the estimate is replaced whole: the line brings no peak
    expect(plain[3]![4]).toBe('');
    expect(await readingOf(ctx, low.id, '2026-01-08')).toMatchObject({ quality: 'actual', source: 'file', peak_kwh: null });
    expect(await storedAsTyped(plain.filter((l) => l[0] !== high.address))).toBe(meters.length - 1);
  });

  it('a stored meter-day on the second line of the file: the direct lane hands the file to the general lane, which keeps the re-read', async () => {
    const early = meters[1]!;
    await upsertReadings(ctx.db, ctx.clock.now(), [{ meterId: early.id, readingDate: '2025-12-30', totalKwh: '80', quality: 're_read', source: 'manual' }]);
    const content = [HEADER, ...meters.map((_, i) => lineOf(i, '2025-12-30').join(','))].join('\n');
    expect(await direct(content, 5)).toBeNull();
    const r = await ingestReadingsFile(ctx, write('early.csv', content.split('\n').slice(1)));
    expect([r.stored, r.quarantined]).toEqual([meters.length, 0]);
    expect(await readingOf(ctx, early.id, '2025-12-30')).toMatchObject({ total_kwh: '80.0000', quality: 're_read' });
    expect(await countOn('2025-12-30')).toBe(meters.length);
  });

  it('a meter-day twice in the file, or a good line only the full checks take, sends the whole file to the general lane (last line wins)', async () => {
    const [a, b] = [meters[10]!, meters.at(-5)!];
    const twice = meters.map((_, i) => lineOf(i, '2026-01-04').join(','));
    twice.push(`${b.address},2026-01-04,555.5,,,,,,`);
    // the part without the repeated meter-day may have gone in: the general lane leaves it as it is
    expect(await direct([HEADER, ...twice].join('\n'))).toBeNull();
    const r = await ingestReadingsFile(ctx, write('twice.csv', twice));
    expect(r.stored).toBe(meters.length + 1);
    expect(await readingOf(ctx, b.id, '2026-01-04')).toMatchObject({ total_kwh: '555.5000' });
    expect(await storedAsTyped(meters.map((_, i) => lineOf(i, '2026-01-04')).filter((l) => l[0] !== b.address))).toBe(meters.length - 1);
    expect(await countOn('2026-01-04')).toBe(meters.length);

    // a value with a leading zero is good but not plain: it may share a meter-day with a plain line
    const quirky = meters.map((_, i) => lineOf(i, '2026-01-03').join(','));
    quirky.push(`${a.address},2026-01-03,012.25,,,,,,`);
    expect(await direct([HEADER, ...quirky].join('\n'))).toBeNull();
    expect(await countOn('2026-01-03')).toBe(0);
    const q = await ingestReadingsFile(ctx, write('quirky.csv', quirky));
    expect([q.stored, q.quarantined]).toEqual([meters.length + 1, 0]);
    expect(await readingOf(ctx, a.id, '2026-01-03')).toMatchObject({ total_kwh: '12.2500' });
  });

  it('a corrected export meeting stored meter-days: changed values updated, a re-read kept, an estimate replaced, a missing day inserted', async () => {
    const lines = meters.map((_, i) => lineOf(i, '2026-01-01', 4));
    const first = (await direct([HEADER, ...lines.map((l) => l.join(','))].join('\n')))!;
    expect(first.stored).toBe(meters.length);
    const [reread, estimated, missing, changed] = [meters[5]!, meters.at(-3)!, meters[7]!, meters.at(-4)!];
    await sql`UPDATE meter_reading SET quality = 're_read', source = 'manual', total_kwh = 1 WHERE meter_id = ${reread.id} AND reading_date = '2026-01-01'`.execute(ctx.db);
    await sql`UPDATE meter_reading SET quality = 'estimated', source = 'estimate', flat_kwh = 3 WHERE meter_id = ${estimated.id} AND reading_date = '2026-01-01'`.execute(ctx.db);
    await sql`DELETE FROM meter_reading WHERE meter_id = ${missing.id} AND reading_date = '2026-01-01'`.execute(ctx.db);
    const i = meters.length - 4;
    lines[i] = [changed.address, '2026-01-01', '4321.5', '', '', '', '', '', ''];
    const corrected = [HEADER, ...lines.map((l) => l.join(','))].join('\n');
    const r = (await direct(corrected))!;
    expect([r.stored, r.quarantined]).toEqual([meters.length, 0]);
    expect(await readingOf(ctx, reread.id, '2026-01-01')).toMatchObject({ total_kwh: '1.0000', quality: 're_read', source: 'manual' });
    expect(await readingOf(ctx, estimated.id, '2026-01-01')).toMatchObject({ quality: 'actual', source: 'file', flat_kwh: null });
    // registers the correction does not bring are kept
    const kept = lineOf(i, '2026-01-01', 4);
    expect(await readingOf(ctx, changed.id, '2026-01-01')).toMatchObject({ total_kwh: '4321.5000', sharp_kwh: kept[3] === '' ? null : `${kept[3]}.0000` });
    expect(await storedAsTyped(lines.filter((l) => l[0] !== reread.address && l[0] !== changed.address))).toBe(meters.length - 2);
    // a meter-day twice: the upsert cannot take it, the general lane merges (last line wins)
    const twice = `${corrected}\n${changed.address},2026-01-01,4321.75,,,,,,`;
    expect(await direct(twice)).toBeNull();
    const t = await ingestReadingsFile(ctx, write('twice-again.csv', twice.split('\n').slice(1)));
    expect(t.stored).toBe(meters.length + 1);
    expect(await readingOf(ctx, changed.id, '2026-01-01')).toMatchObject({ total_kwh: '4321.7500' });
  });

  it('a day\'s export with lines of today (not frozen until midnight) quarantines those lines as not_yet_frozen and stores the day', async () => {
    const plain = meters.map((_, i) => lineOf(i, '2026-01-09', 5));
    const early = meters.slice(0, 3).map((_, i) => lineOf(i, '2026-01-10', 6));
    const content = [HEADER, ...plain.map((l) => l.join(',')), ...early.map((l) => l.join(','))].join('\n');
    const r = (await direct(content))!;
    expect(r).not.toBeNull();
    expect([r.stored, r.quarantined, r.byReason]).toEqual([meters.length, 3, { not_yet_frozen: 3 }]);
    expect(r.errors.map((e) => e.row)).toEqual([meters.length + 2, meters.length + 3, meters.length + 4]);
    expect(await storedAsTyped(plain)).toBe(meters.length);
    expect(await countOn('2026-01-10')).toBe(0);
  });

  it('two ingests of the same export at once both finish, and every meter-day is stored once', async () => {
    const lines = meters.map((_, i) => lineOf(i, '2026-01-05', 3));
    const [a, b] = await Promise.all([ingestReadingsFile(ctx, write('same-a.csv', lines.map((l) => l.join(',')))),
      ingestReadingsFile(ctx, write('same-b.csv', lines.map((l) => l.join(','))))]);
    expect([a.stored, b.stored, a.quarantined + b.quarantined]).toEqual([meters.length, meters.length, 0]);
    expect(await countOn('2026-01-05')).toBe(meters.length);
    expect(await storedAsTyped(lines)).toBe(meters.length);
  });

  it('takes any column order, a register column left out or empty; the file again through ingestReadingsFile changes nothing', async () => {
    const content = ['valley,date,meter,total', ...meters.map((m, i) => `${i % 2 ? '' : '2.5'},2026-01-02,${m.address},${100 + i}.75`)].join('\n');
    const p = path.join(dir, 'reordered.csv');
    fs.writeFileSync(p, content);
    const header = csvHeader(content, p)!;
    const r = (await ingestDirect(ctx, content, header, fastLayout(header.slots)!, 'reordered.csv', { segmentLines: 7 }))!;
    expect([r.stored, r.quarantined]).toEqual([meters.length, 0]);
    expect(await readingOf(ctx, meters[0]!.id, '2026-01-02')).toMatchObject({ total_kwh: '100.7500', valley_kwh: '2.5000', sharp_kwh: null });
    expect(await readingOf(ctx, meters[1]!.id, '2026-01-02')).toMatchObject({ total_kwh: '101.7500', valley_kwh: null });
    const again = await ingestReadingsFile(ctx, p);
    expect([again.stored, again.quarantined]).toEqual([meters.length, 0]);
    expect(await countOn('2026-01-02')).toBe(meters.length);
  });
});
