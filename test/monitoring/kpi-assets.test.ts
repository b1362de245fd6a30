import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { testContext, type TestContext } from '../support/db.ts';
import { signIn, testApp } from '../support/http.ts';
import { computeKpis, METER_STATES } from '../../src/monitoring/index.ts';
import { recordMeterEvents } from '../../src/assets/index.ts';

/** The day the store meters are registered (the clock's day): they exist from then on. */
const DAY = '2026-02-15';
let ctx: TestContext;
let app: FastifyInstance;
let admin: Record<string, string>;
/** Two counties of one city: meters go into the first's store; the second is its sibling. */
let county: string;
let sibling: string;
let city: string;

const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, headers: admin, payload: payload as object });

/** A new meter registered at an org's store through the asset API and brought to the given state. */
async function storeMeter(n: number, orgCode: string, upTo: 'arrived' | 'in_stock'): Promise<void> {
  const assetNo = `KPI${String(n).padStart(9, '0')}`;
  const r = await post('/api/v1/meters', { assetNo, commAddress: `77${String(n).padStart(10, '0')}`, meterType: 'single_phase', manufacturedOn: '2026-01-05', place: '县公司库房', orgCode });
  expect(r.statusCode, r.body).toBe(201);
  if (upTo === 'arrived') return;
  for (const s of [{ event: 'verified', result: 'pass' }, { event: 'in_stock' }]) {
    const e = await post(`/api/v1/meters/${assetNo}/events`, { ...s, place: '县公司库房' });
    expect(e.statusCode, e.body).toBe(200);
  }
}

const countAt = async (orgCode: string, kpi: string, day = DAY): Promise<number> => {
  const res = await app.inject({ url: `/api/v1/kpis?org=${orgCode}&from=${day}&to=${day}&kpi=${kpi}`, headers: admin });
  expect(res.statusCode, res.body).toBe(200);
  return Number(res.json().series[kpi]?.[0]?.value ?? 0);
};

beforeAll(async () => {
  ctx = await testContext({ customers: 600, now: '2026-02-15T09:00:00+08:00' });
  app = await testApp(ctx);
  admin = await signIn(app, 'admin');
  // a small province has one county per city: the sibling is a second county added beside the first
  const [pair] = (await sql<{ city: string; county: string }>`
    SELECT p.code AS city, c.code AS county FROM org_unit c JOIN org_unit p ON p.id = c.parent_id
    WHERE c.level = 'county' ORDER BY c.code LIMIT 1`.execute(ctx.db)).rows;
  ({ city, county } = pair!);
  sibling = `${city}99`;
  await sql`
    INSERT INTO org_unit (id, code, name, name_en, level, parent_id, path)
    SELECT (SELECT max(id) + 1 FROM org_unit), ${sibling}, '测试县供电分公司', 'Test County Supply', 'county', p.id, p.path || ${sibling} || '/'
    FROM org_unit p WHERE p.code = ${city}`.execute(ctx.db);
  for (let n = 1; n <= 5; n++) await storeMeter(n, county, n <= 3 ? 'in_stock' : 'arrived');
  // a meter loaded before custody was recorded: nobody is known to hold it
  await sql`UPDATE meter SET custody_org_path = NULL WHERE asset_no = ${'KPI000000005'}`.execute(ctx.db);
  await computeKpis(ctx, DAY);
});
afterAll(async () => {
  await app?.close();
  await ctx?.drop();
});

describe('meter counts by lifecycle state', () => {
  it('counts meters in a county store at the county, its city and the province, not at a sibling county', async () => {
    expect(await countAt(county, 'meters_in_stock')).toBe(3);
    expect(await countAt(county, 'meters_arrived')).toBe(1);
    expect(await countAt(city, 'meters_in_stock')).toBe(3);
    expect(await countAt('LN', 'meters_in_stock')).toBe(3);
    expect(await countAt(sibling, 'meters_in_stock')).toBe(0);
  });

  it('counts a meter nobody is known to hold at the top of the tree only', async () => {
    expect(await countAt('LN', 'meters_arrived')).toBe(1);
    expect(await countAt('SGCC', 'meters_arrived')).toBe(2);
  });

  it('shows the store meters in the drill-down of the city, on the county that holds them', async () => {
    const res = await app.inject({ url: `/api/v1/kpis/children?org=${city}&kpi=meters_in_stock&day=${DAY}`, headers: admin });
    const items = res.json().items as { code: string; value: string | null }[];
    expect(Number(items.find((i) => i.code === county)?.value)).toBe(3);
    expect(items.find((i) => i.code === sibling)?.value ?? null).toBeNull();
  });

  it('counts each meter at every unit over the org that holds it, so a level is its children plus what it holds itself', async () => {
    // meters under each org unit, placed as the asset list places them: installed at their grid, others at their custody
    // org, else at the top
    const expected = await sql<{ id: number; kpi: string; n: string }>`
      WITH placed AS (
        SELECT m.state, COALESCE(g.path, m.custody_org_path, (SELECT path FROM org_unit WHERE level = 'hq')) AS path FROM meter m
        LEFT JOIN concentrator cz ON cz.id = m.concentrator_id LEFT JOIN transformer_area ta ON ta.id = cz.transformer_area_id
        LEFT JOIN org_unit g ON g.id = ta.grid_id)
      SELECT o.id, 'meters_' || p.state AS kpi, count(*)::text AS n
      FROM org_unit o JOIN placed p ON p.path LIKE o.path || '%' GROUP BY 1, 2`.execute(ctx.db);
    const actual = await sql<{ id: number; kpi: string; n: string }>`
      SELECT org_id AS id, kpi, numerator::int::text AS n FROM kpi_daily
      WHERE day = ${DAY}::date AND org_id IS NOT NULL AND kpi = ANY(${METER_STATES.map((s) => `meters_${s}`)}::text[])`.execute(ctx.db);
    const key = (r: { id: number; kpi: string; n: string }) => `${r.id} ${r.kpi} ${r.n}`;
    expect(actual.rows.map(key).sort()).toEqual(expected.rows.map(key).sort());
    const [hq] = (await sql<{ n: number }>`
      SELECT numerator::int AS n FROM kpi_daily k JOIN org_unit o ON o.id = k.org_id
      WHERE o.level = 'hq' AND k.day = ${DAY}::date AND k.kpi = 'meters_installed'`.execute(ctx.db)).rows;
    expect(hq!.n).toBe(Number((await sql<{ n: number }>`SELECT count(*)::int AS n FROM meter WHERE state = 'installed'`.execute(ctx.db)).rows[0]!.n));
  });
});

describe('meter counts of a past day', () => {
  const installedAt = async (day: string) => Number((await sql<{ n: number }>`
    SELECT numerator::int AS n FROM kpi_daily k JOIN org_unit o ON o.id = k.org_id
    WHERE o.level = 'hq' AND k.day = ${day}::date AND k.kpi = 'meters_installed'`.execute(ctx.db)).rows[0]?.n ?? 0);

  it('are the states the meters were in at the end of that day, from their events, not their states now', async () => {
    // the day before the store meters were registered: none of them existed yet
    await computeKpis(ctx, '2026-02-14');
    for (const kpi of ['meters_in_stock', 'meters_arrived', 'meters_verified']) expect(await countAt(county, kpi, '2026-02-14'), kpi).toBe(0);
    expect(await countAt('SGCC', 'meters_arrived', '2026-02-14')).toBe(0);
    expect(await installedAt('2026-02-14')).toBe(await installedAt(DAY));

    // the next day a stocked meter goes out to a grid and a running one is taken off: the day before keeps its counts
    const grid = (await sql<{ code: string }>`
      SELECT g.code FROM org_unit g JOIN org_unit c ON g.path LIKE c.path || '%' WHERE c.code = ${county} AND g.level = 'grid' ORDER BY g.code LIMIT 1`.execute(ctx.db)).rows[0]!.code;
    const running = (await sql<{ id: number }>`SELECT id::int AS id FROM meter WHERE state = 'installed' ORDER BY id LIMIT 1`.execute(ctx.db)).rows[0]!.id;
    ctx.clock.set('2026-02-16T10:00:00+08:00');
    const e = await post('/api/v1/meters/KPI000000001/events', { event: 'dispatched', orgCode: grid, place: '县公司库房' });
    expect(e.statusCode, e.body).toBe(200);
    // a removal goes through a meter-exchange task in the API: recorded here as that task records it
    await ctx.db.transaction().execute((trx) => recordMeterEvents(trx, ctx.clock.now(), [{ meterId: running, event: 'removed', actor: 'test', place: 'customer address' }]));
    await computeKpis(ctx, DAY);
    await computeKpis(ctx, '2026-02-16');
    expect(await countAt(county, 'meters_in_stock')).toBe(3);
    expect(await countAt(grid, 'meters_dispatched')).toBe(0);
    expect(await countAt(county, 'meters_in_stock', '2026-02-16')).toBe(2);
    expect(await countAt(grid, 'meters_dispatched', '2026-02-16')).toBe(1);
    expect(await installedAt('2026-02-16')).toBe(await installedAt(DAY) - 1);
    expect(await countAt('SGCC', 'meters_removed', '2026-02-16')).toBe(await countAt('SGCC', 'meters_removed') + 1);
  });
});
