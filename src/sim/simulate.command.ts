import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { AppError, createLogger, loadConfig, migrate, openDatabase, SimulatedClock, type AppContext, type Database } from '../platform/index.ts';
import { freshServerDatabase } from '../platform/fresh-database.ts';
import { seedProvince } from './seed.ts';
import { DEFAULT_FAULTS, simulateMonths } from './month.ts';
import { reportTable } from './report.ts';

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('run the reform headless: seed a province, simulate M months end to end, print and save the report')
    .option('--customers <n>', 'province size', (v) => Number(v), 20_000)
    .option('--months <m>', 'billing months to simulate', (v) => Number(v), 1)
    .option('--seed <s>', 'random seed (same seed, same run)', (v) => Number(v), 1)
    .option('--start <date>', 'first simulated day', '2026-01-01')
    .option('--tail-days <n>', 'days after the last billing month for the chase to finish', (v) => Number(v), 35)
    .option('--faults <spec>', 'field faults (see `zerotouch sim concentrators --help`)', DEFAULT_FAULTS)
    .option('--out <file>', 'where to write the JSON report', 'artifacts/simulation-report.json')
    .option('--keep', 'keep the simulation database: a new database on the DATABASE_URL server (its name is printed), else the PGlite folder ZEROTOUCH_DATA, which must be empty (default: a throwaway database)')
    .option('--quiet', 'no per-day progress')
    .action(async (o: { customers: number; months: number; seed: number; start: string; tailDays: number; faults: string; out: string; keep?: boolean; quiet?: boolean }) => {
      const config = loadConfig();
      // a fresh database every time: PGlite in memory, or a new database on the DATABASE_URL server
      let database: Database;
      let drop = async () => undefined as void;
      if (config.databaseUrl) {
        const fresh = await freshServerDatabase(config.databaseUrl, 'zt_sim');
        database = fresh.database;
        drop = o.keep ? async () => { process.stderr.write(`kept database ${fresh.name}\n`); await database.close(); } : fresh.drop;
      } else if (o.keep) {
        if (fs.existsSync(config.dataDir) && fs.readdirSync(config.dataDir).length > 0) {
          throw new AppError('SIMULATE_DATA_NOT_EMPTY', `--keep simulates into ZEROTOUCH_DATA (${config.dataDir}), which is not empty; point ZEROTOUCH_DATA at a new folder`);
        }
        database = await openDatabase({ dataDir: config.dataDir });
        await migrate(database);
        drop = async () => { process.stderr.write(`kept PGlite data in ${config.dataDir}\n`); await database.close(); };
      } else {
        database = await openDatabase({});
        await migrate(database);
        drop = () => database.close();
      }
      const clock = new SimulatedClock(`${o.start}T00:00:00+08:00`);
      const ctx: AppContext & { clock: SimulatedClock } = { database, db: database.db, clock, log: createLogger('simulate'), config };
      try {
        const t = performance.now();
        const seeded = await seedProvince(database, { customers: o.customers, seed: o.seed, since: '2025-01-01' });
        if (!o.quiet) process.stderr.write(`seeded ${seeded.customers} customers in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
        const report = await simulateMonths(ctx, {
          months: o.months, seed: o.seed, start: o.start, tailDays: o.tailDays, faults: o.faults,
          onDay: o.quiet ? undefined : (day, ms) => process.stderr.write(`  ${day} ${ms} ms\n`),
        });
        fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
        fs.writeFileSync(o.out, `${JSON.stringify(report, null, 2)}\n`);
        process.stdout.write(`${reportTable(report)}\nreport written to ${o.out}\n`);
      } finally {
        await drop();
      }
    });
}
