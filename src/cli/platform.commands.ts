import type { Command } from 'commander';
import { AppError, issueToken, migrate, openDatabase, loadConfig, type Db, type Principal } from '../platform/index.ts';
import { findStaffByCode } from '../org/index.ts';
import { seedProvince } from '../sim/seed.ts';
import { serve } from './serve.ts';
import { DEMO_CUSTOMERS, start } from './start.ts';
import { output, withContext } from './context.ts';

export function registerPlatformCommands(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (PGlite in ZEROTOUCH_DATA, or DATABASE_URL)')
    .action(async () => {
      const config = loadConfig();
      const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      try {
        const applied = await migrate(database, (n) => process.stdout.write(`applied ${n}\n`));
        process.stdout.write(applied.length ? `${applied.length} migration(s) applied\n` : 'schema is up to date\n');
      } finally {
        await database.close();
      }
    });

  program
    .command('seed')
    .description('build the deterministic synthetic Liaoning province into an empty database')
    .requiredOption('--customers <n>', 'number of customers', (v) => Number(v))
    .option('--seed <s>', 'random seed (same seed, same province)', (v) => Number(v), 1)
    .option('--since <date>', 'date customers and meters are installed from', '2025-01-01')
    .option('--json', 'print the result as JSON')
    .action(async (o: { customers: number; seed: number; since: string; json?: boolean }) => {
      await withContext({}, async (ctx) => {
        const r = await seedProvince(ctx.database, { customers: o.customers, seed: o.seed, since: o.since }, (m) => !o.json && process.stderr.write(`  ${m}\n`));
        output(o.json, r, () => `seeded ${r.customers} customers, ${r.grids} grid units, ${r.transformerAreas} transformer areas, ${r.teams} teams, ${r.staff} staff in ${(r.ms / 1000).toFixed(1)} s`);
      });
    });

  program
    .command('serve')
    .description('serve the HTTP API and web app (PORT, default 8080)')
    .option('--as-of <date>', 'pin business time (default: system clock)')
    .action(async (o: { asOf?: string }) => {
      await serve({ asOf: o.asOf });
    });

  program
    .command('start')
    .description('the main job: migrate, seed the demo province if empty, and serve the API and web app')
    .option('--customers <n>', 'demo province size when seeding', (v) => Number(v), DEMO_CUSTOMERS)
    .option('--seed <s>', 'random seed', (v) => Number(v), 1)
    .option('--seconds-per-day <n>', 'real seconds per simulated day', (v) => Number(v), 8)
    .option('--start-date <date>', 'first simulated day of a new demo', '2026-01-01')
    .action(async (o: { customers: number; seed: number; secondsPerDay: number; startDate: string }) => {
      await start(o);
    });

  program
    .command('token')
    .description('issue an API token for a staff member (by staff code, e.g. admin, clerk.LN04)')
    .argument('<staff-code>')
    .action(async (code: string) => {
      await withContext({}, async (ctx) => {
        process.stdout.write(`${await issueStaffToken(ctx.db, code)}\n`);
      });
    });

}

/**
 * An API token for a staff member, as signing in would give one: refused for an unknown code and for a
 * deactivated member (AUTH_ACCOUNT_INACTIVE, as the API answers their old tokens), whose sign-ins ended.
 */
export async function issueStaffToken(db: Db, code: string): Promise<string> {
  const s = await findStaffByCode(db, code);
  if (!s) throw new AppError('STAFF_UNKNOWN', `no staff member ${code}`);
  if (!s.active) throw new AppError('AUTH_ACCOUNT_INACTIVE', `staff member ${code} is deactivated: reactivate them (PATCH /api/v1/staff/${code}) before issuing a token`, 401);
  const p: Principal = { kind: 'staff', id: s.id, name: s.name, role: s.role as Principal['role'], orgId: s.org_id, orgPath: s.org_path };
  return issueToken(db, p);
}
