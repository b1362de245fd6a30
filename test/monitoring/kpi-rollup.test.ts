import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { testContext, type TestContext } from '../support/db.ts';
import { signIn, testApp } from '../support/http.ts';
import { ensureReadingPartitions, upsertReadings } from '../../src/metering/index.ts';
import { openTasks } from '../../src/work/index.ts';
import { computeKpis } from '../../src/monitoring/index.ts';

const DAY = '2026-01-10';
let ctx: TestContext;
let app: FastifyInstance;
let meters: number[];

const kpiRow = async (kpi: string, where: ReturnType<typeof sql>) =>
  (await sql<{ value: string | null; numerator: string; denominator: string | null }>`
    SELECT value, numerator, denominator FROM kpi_daily WHERE day = ${DAY}::date AND kpi = ${kpi} AND ${where}`.execute(ctx.db)).rows;

beforeAll(async () => {
  ctx = await testContext({ customers: 900, now: '2026-01-11T09:00:00+08:00' });
  meters = (await sql<{ meter_id: number }>`SELECT meter_id FROM service_point ORDER BY meter_id`.execute(ctx.db)).rows.map((r) => r.meter_id);
  await ensureReadingPartitions(ctx.db, DAY, DAY);
  // every meter but each 10th reports; one of the reads is an estimate and does not count as read
  const read = meters.filter((_, i) => i % 10 !== 0);
  await upsertReadings(ctx.db, ctx.clock.now(), read.map((m, i) => ({ meterId: m, readingDate: DAY, totalKwh: '100.00', quality: i === 0 ? 'estimated' : 'actual', source: 'frontend' })));
  await openTasks(ctx.db, new Date('2026-01-09T10:00:00+08:00'), meters.filter((_, i) => i % 10 === 0).slice(0, 5).map((m) => ({
    kind: 're_read', idempotencyKey: `test-reread-${m}`, title: 're-read', customerId: m, meterId: m, createdBy: 'test',
  })));
  await computeKpis(ctx, DAY);
  app = await testApp(ctx);
});
afterAll(async () => {
  await app?.close();
  await ctx?.drop();
});

describe('KPI rollup', () => {
  it('computes read success at the province from the readings of the day, estimates excluded', async () => {
    const [prov] = await kpiRow('read_success', sql`org_id = (SELECT id FROM org_unit WHERE level = 'province')`);
    const expectedRead = meters.filter((_, i) => i % 10 !== 0).length - 1;
    expect(Number(prov!.numerator)).toBe(expectedRead);
    expect(Number(prov!.denominator)).toBe(meters.length);
    expect(prov!.value).toBe((expectedRead / meters.length).toFixed(6));
  });

  it('sums every level up to its parent and the teams up to the province', async () => {
    const sums = (await sql<{ level: string; n: string; d: string }>`
      SELECT o.level, sum(k.numerator) AS n, sum(k.denominator) AS d FROM kpi_daily k JOIN org_unit o ON o.id = k.org_id
      WHERE k.day = ${DAY}::date AND k.kpi = 'read_success' GROUP BY o.level`.execute(ctx.db)).rows;
    const [teams] = (await sql<{ n: string; d: string }>`
      SELECT sum(numerator) AS n, sum(denominator) AS d FROM kpi_daily WHERE day = ${DAY}::date AND kpi = 'read_success' AND team_id IS NOT NULL`.execute(ctx.db)).rows;
    for (const s of sums) expect([s.level, Number(s.n), Number(s.d)]).toEqual([s.level, Number(teams!.n), Number(teams!.d)]);
    expect(sums.map((s) => s.level).sort()).toEqual(['city', 'county', 'grid', 'hq', 'province', 'station']);
  });

  it('counts open re-read tasks and their age at the end of the day', async () => {
    const [hq] = await kpiRow('reread_open', sql`org_id = (SELECT id FROM org_unit WHERE level = 'hq')`);
    expect(Number(hq!.value)).toBe(5);
    const [age] = await kpiRow('reread_age_days', sql`org_id = (SELECT id FROM org_unit WHERE level = 'hq')`);
    expect(Number(age!.value)).toBeCloseTo(1 + 14 / 24, 3);
  });

  it('replaces a day when recomputed instead of adding to it', async () => {
    const before = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM kpi_daily WHERE day = ${DAY}::date`.execute(ctx.db)).rows[0]!.n;
    const again = await computeKpis(ctx, DAY);
    expect(again.rowsWritten).toBe(before);
    const after = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM kpi_daily WHERE day = ${DAY}::date`.execute(ctx.db)).rows[0]!.n;
    expect(after).toBe(before);
  });
});

describe('KPI API', () => {
  it('serves the history of an org unit from the rollup', async () => {
    const res = await app.inject({ url: `/api/v1/kpis?org=LN&from=${DAY}&to=${DAY}&kpi=read_success,reread_open`, headers: await signIn(app, 'analyst') });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body.series).sort()).toEqual(['read_success', 'reread_open']);
    expect(body.series.reread_open[0]).toMatchObject({ day: DAY, value: '5' });
  });

  it('drills down to the children worst first', async () => {
    const res = await app.inject({ url: `/api/v1/kpis/children?org=LN&kpi=read_success`, headers: await signIn(app, 'analyst') });
    expect(res.statusCode).toBe(200);
    const { items, day } = res.json() as { day: string; items: { value: string | null; kpis: Record<string, unknown> }[] };
    expect(day).toBe(DAY);
    const values = items.filter((i) => i.value !== null).map((i) => Number(i.value));
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(items[0]!.kpis).toHaveProperty('channel_coverage');
  });

  it('keeps a city clerk inside the city', async () => {
    const headers = await signIn(app, 'clerk.LN04');
    expect((await app.inject({ url: '/api/v1/kpis?org=LN01', headers })).statusCode).toBe(403);
    const own = await app.inject({ url: '/api/v1/kpis/children', headers });
    expect(own.statusCode).toBe(200);
    expect(own.json().org.code).toBe('LN04');
  });

  it('rejects an unknown KPI with a stable code', async () => {
    const res = await app.inject({ url: '/api/v1/kpis/children?kpi=nope', headers: await signIn(app, 'analyst') });
    expect(res.json()).toMatchObject({ code: 'KPI_UNKNOWN' });
  });
});
