import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { freshDatabase } from '../support/db.ts';
import { seedProvince } from '../../src/sim/seed.ts';
import { migrate, type Db } from '../../src/platform/index.ts';

async function fingerprint(db: Db) {
  const r = await sql<{ h: string }>`
    SELECT md5(string_agg(number || name || tariff_code || org_path || address, ',' ORDER BY number)) AS h FROM customer`.execute(db);
  return r.rows[0]!.h;
}

describe('synthetic province', () => {
  it('same seed gives the same province; the hierarchy has all 14 cities and areas of ~300 households', async () => {
    const a = await freshDatabase();
    const b = await freshDatabase();
    try {
      const r = await seedProvince(a.database, { customers: 2000, seed: 7, since: '2025-01-01' });
      await seedProvince(b.database, { customers: 2000, seed: 7, since: '2025-01-01' });
      expect(await fingerprint(a.database.db)).toBe(await fingerprint(b.database.db));
      expect(r.customers).toBe(2000);
      const cities = await sql<{ n: number }>`SELECT count(*)::int AS n FROM org_unit WHERE level = 'city'`.execute(a.database.db);
      expect(cities.rows[0]!.n).toBe(14);
      const areas = await sql<{ max: number }>`SELECT max(n)::int AS max FROM (SELECT count(*) AS n FROM customer GROUP BY transformer_area_id) x`.execute(a.database.db);
      expect(areas.rows[0]!.max).toBeLessThanOrEqual(300);
      const orphans = await sql<{ n: number }>`SELECT count(*)::int AS n FROM meter m WHERE NOT EXISTS (SELECT 1 FROM service_point sp WHERE sp.meter_id = m.id)`.execute(a.database.db);
      expect(orphans.rows[0]!.n).toBe(0);
      await expect(seedProvince(a.database, { customers: 10, seed: 1, since: '2025-01-01' })).rejects.toMatchObject({ code: 'SEED_NOT_EMPTY' });
    } finally {
      await a.drop();
      await b.drop();
    }
  });

  it('migrations are idempotent: a second run applies nothing', async () => {
    const a = await freshDatabase();
    try {
      expect(await migrate(a.database)).toEqual([]);
    } finally {
      await a.drop();
    }
  });
});
