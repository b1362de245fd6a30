/**
 * The real main job (`zerotouch start`, what `npm start` runs) as a child process, with its pino log
 * parsed line by line: start it, wait for what it logs, sign in through its API, stop it with Ctrl-C.
 * Used by the live-demo test and the start-up benchmark.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface LogLine {
  msg: string;
  /** Milliseconds since the child was spawned, as seen by the parent. */
  at: number;
  [k: string]: unknown;
}

export interface MainJob {
  child: ChildProcess;
  url: string;
  spawnedAt: number;
  lines: LogLine[];
  /** Everything the child wrote that is not a pino line (stderr, stray output). */
  other: string[];
  /** Resolves with the first line (already logged or future) matching, or rejects after timeoutMs / on exit. */
  waitFor(match: (l: LogLine) => boolean, timeoutMs: number, what?: string): Promise<LogLine>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** The log so far, for failure messages. */
  tail(n?: number): string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export interface MainJobOptions {
  args: string[];
  dataDir: string;
  databaseUrl?: string;
  port: number;
  frontendPort: number;
  /** Extra environment (e.g. TSX_DISABLE_CACHE=1 for a cold start as on a fresh clone). */
  env?: Record<string, string>;
}

/** Spawns `node --import tsx src/cli/main.ts start …` (the `npm start` command line) in the repo root. */
export function spawnMainJob(o: MainJobOptions): MainJob {
  const env: NodeJS.ProcessEnv = { ...process.env, ZEROTOUCH_DATA: o.dataDir, PORT: String(o.port), HOST: '127.0.0.1', FRONTEND_PORT: String(o.frontendPort), LOG_LEVEL: 'info' };
  // the child is the product, not a test: vitest's variables would silence its log
  for (const k of Object.keys(env)) if (k.startsWith('VITEST')) delete env[k];
  delete env.DATABASE_URL;
  if (o.databaseUrl) env.DATABASE_URL = o.databaseUrl;
  Object.assign(env, o.env);
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start', ...o.args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: LogLine[] = [];
  const other: string[] = [];
  const waiters = new Set<() => void>();
  const onText = (buffered: { rest: string }) => (chunk: Buffer) => {
    const parts = (buffered.rest + chunk.toString('utf8')).split('\n');
    buffered.rest = parts.pop()!;
    for (const raw of parts) {
      if (!raw.trim()) continue;
      try {
        const j = JSON.parse(raw) as Record<string, unknown>;
        if (typeof j.msg !== 'string') throw new Error('not a log line');
        lines.push({ ...j, msg: j.msg, at: Math.round(performance.now() - spawnedAt) });
      } catch {
        other.push(raw);
      }
    }
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', onText({ rest: '' }));
  child.stderr!.on('data', onText({ rest: '' }));
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal, at: Math.round(performance.now() - spawnedAt) };
      resolve(exitInfo);
      for (const w of [...waiters]) w();
    });
  });
  const tail = (n = 25) => [...lines.slice(-n).map((l) => `${l.at} ms ${l.msg} ${JSON.stringify(Object.fromEntries(Object.entries(l).filter(([k]) => !['msg', 'at', 'level', 'time', 'pid', 'hostname', 'name'].includes(k))))}`), ...other.slice(-n)].join('\n');
  return {
    child, url: `http://127.0.0.1:${o.port}`, spawnedAt, lines, other, exited, tail,
    waitFor(match, timeoutMs, what = 'log line') {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find(match);
          if (hit) return done(() => resolve(hit));
          if (exitInfo) return done(() => reject(new Error(`main job exited (${exitInfo!.code ?? exitInfo!.signal}) before ${what}\n${tail()}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`no ${what} within ${timeoutMs} ms\n${tail()}`))), timeoutMs);
        const done = (f: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          f();
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** CPU seconds (user + system) the child has used so far, from /proc; undefined where there is no /proc. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return undefined;
  }
}

/** Ctrl-C: SIGINT to the job, then its exit. */
export async function interrupt(job: MainJob): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const sent = performance.now();
  job.child.kill('SIGINT');
  const e = await job.exited;
  return { code: e.code, signal: e.signal, ms: Math.round(performance.now() - sent) };
}

/** A staff token through the same login the web app uses. */
export async function staffToken(url: string, username: string, password: string): Promise<string> {
  const r = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (!r.ok) throw new Error(`login ${username}: HTTP ${r.status} ${await r.text()}`);
  return ((await r.json()) as { token: string }).token;
}

export interface KpiSeries {
  to: string;
  series: Record<string, { day: string; value: string | null; numerator: string; denominator: string | null }[]>;
}

/** The province KPI history the monitoring page draws (`GET /api/v1/kpis`). */
export async function provinceKpis(url: string, token: string): Promise<KpiSeries> {
  const r = await fetch(`${url}/api/v1/kpis`, { headers: { authorization: `Bearer ${token}` } });
  if (!r.ok) throw new Error(`GET /kpis: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()) as KpiSeries;
}

/** Sum of a KPI's numerators over the series, exact to the 4 decimals the rollup stores (as a bigint of 1/10000). */
export function numeratorTotal(k: KpiSeries, kpi: string): bigint {
  let total = 0n;
  for (const p of k.series[kpi] ?? []) {
    const [i, f = ''] = p.numerator.split('.');
    total += BigInt(i!) * 10_000n + BigInt((f + '0000').slice(0, 4)) * (i!.startsWith('-') ? -1n : 1n);
  }
  return total;
}
