import { sql } from 'kysely';
import { AppError, type Database } from '../platform/index.ts';
import { loadOrg } from '../org/index.ts';
import { loadMeters, loadNetwork } from '../assets/index.ts';
import { countCustomers, loadCustomers } from '../customers/index.ts';
import { allCustomers, planProvince, type CustomerBundle, type ProvinceOptions } from './province.ts';

const SEED_CHUNK = 100_000;

export interface SeedResult {
  customers: number;
  orgUnits: number;
  grids: number;
  transformerAreas: number;
  teams: number;
  staff: number;
  ms: number;
}

/** Build the synthetic province into an empty database with COPY; same seed → same data. */
export async function seedProvince(database: Database, opts: ProvinceOptions, onProgress?: (msg: string) => void): Promise<SeedResult> {
  const started = performance.now();
  if ((await countCustomers(database.db)) > 0) throw new AppError('SEED_NOT_EMPTY', 'the database already has customers; seed into an empty database');
  if (!Number.isInteger(opts.customers) || opts.customers < 1) throw new AppError('SEED_BAD_SIZE', '--customers must be a positive integer');
  const plan = planProvince(opts);
  await database.session(async (s) => {
    // The generator builds consistent keys; skipping per-row FK triggers makes COPY several times faster.
    // Needs superuser (PGlite and the local server); elsewhere the checks simply stay on.
    const fkOff = await sql`SET session_replication_role = replica`.execute(s.db).then(() => true, () => false);
    onProgress?.(`org: ${plan.orgUnits.length} units, ${plan.teams.length} teams, ${plan.staff.length} staff`);
    await loadOrg(s, plan);
    await loadNetwork(s, { areas: plan.areas.map((a) => a.area), concentrators: plan.areas.map((a) => a.concentrator) });
    // generate each customer once, load in chunks so memory stays flat at any province size
    let chunk: CustomerBundle[] = [];
    let loaded = 0;
    const flush = async () => {
      await loadMeters(s, chunk.map((b) => b.meter));
      await loadCustomers(s, {
        customers: chunk.map((b) => b.customer),
        servicePoints: chunk.map((b) => b.servicePoint),
        contacts: chunk.flatMap((b) => b.contacts),
        agreements: chunk.flatMap((b) => b.agreements),
      });
      loaded += chunk.length;
      chunk = [];
      onProgress?.(`customers: ${loaded} / ${opts.customers}`);
    };
    for (const b of allCustomers(opts, plan)) {
      chunk.push(b);
      if (chunk.length === SEED_CHUNK) await flush();
    }
    if (chunk.length) await flush();
    if (fkOff) await sql`SET session_replication_role = DEFAULT`.execute(s.db);
  });
  return {
    customers: opts.customers,
    orgUnits: plan.orgUnits.length,
    grids: plan.orgUnits.filter((o) => o.level === 'grid').length,
    transformerAreas: plan.areas.length,
    teams: plan.teams.length,
    staff: plan.staff.length,
    ms: Math.round(performance.now() - started),
  };
}
