/**
 * `npm run bench`: every benchmark in bench/, one after another, each in its own process so one
 * bench's memory and pools never colour the next. Each prints its own figures; this prints how long
 * each took and whether it exited cleanly.
 *
 *   npm run bench                         all of them at their target sizes (PostgreSQL server; long)
 *   npm run bench -- --quick              all of them at a tenth of the size or less, for a smoke run
 *   npm run bench -- billing-run [args]   one of them, with its own arguments (see the file's header)
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const NOT_BENCHES = new Set(['run', 'support', 'dunning-fixture', 'metering-cpu']);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !NOT_BENCHES.has(f.slice(0, -3)))
  .map((f) => f.slice(0, -3))
  .sort();

/** Sizes for `--quick`: small enough to run in a minute or two each. */
const QUICK: Record<string, string[]> = {
  'billing-run': ['--customers', '50000'],
  'dunning-dispatch': ['--notices', '10000'],
  'dunning-run': ['--customers', '50000'],
  'foundation-seed': ['--customers', '50000', '--pglite-customers', '20000', '--lookups', '500'],
  'metering-frontend': ['--customers', '20000'],
  'metering-ingest': ['--customers', '50000', '--days', '2'],
  'metering-rollup': ['--customers', '100000'],
  'monitoring-kpi-api': ['--customers', '50000', '--days', '60', '--requests', '100'],
  'payments-latefee': ['--customers', '100000'],
  'payments-post': ['--customers', '20000', '--payments', '5000'],
  simulate: ['--customers', '5000', '--tail-days', '10'],
  'start-dashboard': [],
};

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const named = argv[0] && !argv[0].startsWith('--') ? argv[0] : null;
if (named && !benches.includes(named)) {
  process.stderr.write(`unknown benchmark "${named}"; there are: ${benches.join(', ')}\n`);
  process.exit(2);
}
const plan: [string, string[]][] = named ? [[named, argv.slice(1)]] : benches.map((b) => [b, quick ? (QUICK[b] ?? []) : []]);

const results: { bench: string; seconds: number; status: number | null }[] = [];
for (const [bench, args] of plan) {
  process.stdout.write(`\n=== ${bench} ${args.join(' ')}\n`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, `${bench}.ts`), ...args], { stdio: 'inherit' });
  results.push({ bench, seconds: Math.round((performance.now() - t0) / 100) / 10, status: r.status });
}
process.stdout.write('\n=== summary\n');
for (const r of results) process.stdout.write(`  ${r.bench.padEnd(22)} ${String(r.seconds).padStart(8)} s  ${r.status === 0 ? 'ok' : `exit ${r.status}`}\n`);
process.exit(results.every((r) => r.status === 0) ? 0 : 1);
