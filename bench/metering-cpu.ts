/**
 * CPU seconds spent by this process and by the PostgreSQL backends of the bench database, read from
 * /proc (the server runs on this machine). On a shared, loaded machine wall time mostly measures the
 * neighbours; CPU seconds say what the work itself costs.
 */
import fs from 'node:fs';
import { sql } from 'kysely';
import type { Db } from '../src/platform/index.ts';

const TICKS = 100;

function procCpu(pid: number): number | null {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return null;
  }
}

async function backends(db: Db): Promise<number[]> {
  const r = await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`.execute(db);
  return r.rows.map((x) => Number(x.pid));
}

export interface CpuSpent {
  node: number;
  /** null when the backends' /proc entries cannot be read (a remote server). */
  pg: number | null;
}

/** Start measuring; the returned function gives the CPU seconds spent since (backends that started meanwhile count whole). */
export async function cpuMeter(db: Db): Promise<() => Promise<CpuSpent>> {
  const start = new Map<number, number>();
  for (const pid of await backends(db)) start.set(pid, procCpu(pid) ?? Number.NaN);
  const node0 = process.cpuUsage();
  return async () => {
    const u = process.cpuUsage(node0);
    let pg = 0;
    for (const pid of await backends(db)) {
      const now = procCpu(pid);
      if (now === null) return { node: (u.user + u.system) / 1e6, pg: null };
      pg += now - (start.get(pid) ?? 0);
    }
    return { node: (u.user + u.system) / 1e6, pg: Number.isNaN(pg) ? null : pg };
  };
}

export function cpuText(c: CpuSpent): string {
  return `node ${c.node.toFixed(1)} s, postgres ${c.pg === null ? 'n/a' : `${c.pg.toFixed(1)} s`}`;
}
