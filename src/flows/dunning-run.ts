/**
 * The daily dunning run (催费日批): bill notices for newly released bills, the chase step due for
 * every account, then the hand-overs (manual collection, suspension, reconnect, contact
 * verification). Each part is set-based and keyed, so rerunning a day adds nothing. The run holds
 * one session from start to end (the run lock). Four parts are computed in slices of the customers,
 * one connection each at the same time (on the PostgreSQL server; PGlite is one connection, one
 * slice): the day's open debt, the cancellations, the chase decision and the manual collections. A
 * province's run is CPU-bound, and one connection uses one core. The other hand-overs (a few a day)
 * read the whole day's open debt on the run's session.
 */
import { stepTimer, type AppContext, type Db, type Session } from '../platform/index.ts';
import { customerSlices, type CustomerRange } from '../customers/index.ts';
import {
  analyzeOpenDebt, beginDunningRun, cancelPaidNotices, decideNotices, endDunningRun, snapshotOpenDebt, withRunMemory, type DecidedCount,
} from '../dunning/index.ts';
import { closeSettledCollections, escalateToManualCollection, verifyFailingContacts } from './dunning-escalation.ts';
import { reconnectPaidSupply, suspendOverdueSupply } from './dunning-suspension.ts';

/** Slices of the province computed at once on the PostgreSQL server. */
const SLICES = 2;

export interface DunningRunResult {
  asOf: string;
  /** Bills with money owed on the day. */
  openDebts: number;
  notices: DecidedCount[];
  cancelled: number;
  manualCollection: number;
  /** Manual collections whose debt is settled: their open tasks called off. */
  collectionsSettled: number;
  suspended: { remote: number; field: number };
  reconnected: number;
  contactVerification: number;
  ms: number;
  /** Milliseconds per part of the run. */
  stepMs: Record<string, number>;
}

export async function runDunning(ctx: AppContext, asOf: string): Promise<DunningRunResult> {
  const started = performance.now();
  const at = ctx.clock.now();
  return ctx.database.session(async (s) => {
    const run: AppContext = { ...ctx, db: s.db };
    const { stepMs, timed } = stepTimer();
    await beginDunningRun(s.db);
    try {
      const slices = await customerSlices(s.db, ctx.database.engine === 'postgres' ? SLICES : 1);
      const sliced = <T>(fn: (db: Db, range: CustomerRange) => Promise<T>) => inSlices(ctx, s, slices, fn);
      const openDebts = await timed('openDebt', async () => {
        const n = sum(await sliced((db, range) => snapshotOpenDebt(db, asOf, range)));
        await analyzeOpenDebt(s.db);
        return n;
      });
      const cancelled = sum(await timed('cancelPaid', () => sliced((db, range) => cancelPaidNotices(db, at, range))));
      const collectionsSettled = sum(await timed('settledCollections', () => sliced((db, range) => closeSettledCollections({ ...ctx, db }, asOf, range))));
      const notices = mergeCounts(await timed('notices', () => sliced((db, range) => decideNotices(db, asOf, at, range))));
      const reconnected = await timed('reconnect', () => reconnectPaidSupply(run, asOf));
      const manualCollection = sum(await timed('manualCollection', () => sliced((db, range) => escalateToManualCollection({ ...ctx, db }, asOf, range))));
      const suspended = await timed('suspension', () => suspendOverdueSupply(run, asOf));
      const contactVerification = await timed('contactVerification', () => verifyFailingContacts(run, asOf));
      ctx.log.info({ asOf, openDebts, cancelled, collectionsSettled, manualCollection, suspended, reconnected, contactVerification, stepMs }, 'dunning run done');
      return {
        asOf, openDebts, notices, cancelled, manualCollection, collectionsSettled, suspended, reconnected, contactVerification,
        ms: Math.round(performance.now() - started), stepMs,
      };
    } finally {
      await endDunningRun(s.db);
    }
  });
}

/**
 * `fn` for every slice at once: the first on the run's session, each other one on a connection of its
 * own with the run's memory setting. Waits for every slice, then fails with the first failure: no
 * slice is left running behind the run.
 */
async function inSlices<T>(ctx: AppContext, s: Session, slices: CustomerRange[], fn: (db: Db, range: CustomerRange) => Promise<T>): Promise<T[]> {
  const settled = await Promise.allSettled(slices.map((range, i) => i === 0
    ? fn(s.db, range)
    : ctx.database.session((x) => withRunMemory(x.db, () => fn(x.db, range)))));
  const failed = settled.find((p): p is PromiseRejectedResult => p.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((p) => (p as PromiseFulfilledResult<T>).value);
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** The slices' counts per step and status, as one run's. */
function mergeCounts(parts: DecidedCount[][]): DecidedCount[] {
  const by = new Map<string, DecidedCount>();
  for (const c of parts.flat()) {
    const key = `${c.step}\u0000${c.status}`;
    const had = by.get(key);
    by.set(key, had ? { ...had, n: had.n + c.n } : { ...c });
  }
  return [...by.values()].sort((a, b) => a.step.localeCompare(b.step) || a.status.localeCompare(b.status));
}
