/**
 * The daily dunning run (催费日批): bill notices for newly released bills, the chase step due for
 * every account, then the hand-overs (manual collection, suspension, reconnect, contact
 * verification). Each part is set-based and keyed, so rerunning a day adds nothing. The run pins
 * one session: the day's open debt is computed once into a temp table every step joins.
 */
import { stepTimer, type AppContext } from '../platform/index.ts';
import {
  cancelPaidNotices, decideNotices, dropOpenDebtSnapshot, snapshotOpenDebt, type DecidedCount,
} from '../dunning/index.ts';
import { escalateToManualCollection, verifyFailingContacts } from './dunning-escalation.ts';
import { reconnectPaidSupply, suspendOverdueSupply } from './dunning-suspension.ts';

export interface DunningRunResult {
  asOf: string;
  /** Bills with money owed on the day. */
  openDebts: number;
  notices: DecidedCount[];
  cancelled: number;
  manualCollection: number;
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
    try {
      const openDebts = await timed('openDebt', () => snapshotOpenDebt(run.db, asOf));
      const cancelled = await timed('cancelPaid', () => cancelPaidNotices(run.db, at));
      const notices = await timed('notices', () => decideNotices(run.db, asOf, at));
      const reconnected = await timed('reconnect', () => reconnectPaidSupply(run, asOf));
      const manualCollection = await timed('manualCollection', () => escalateToManualCollection(run, asOf));
      const suspended = await timed('suspension', () => suspendOverdueSupply(run, asOf));
      const contactVerification = await timed('contactVerification', () => verifyFailingContacts(run, asOf));
      ctx.log.info({ asOf, openDebts, cancelled, manualCollection, suspended, reconnected, contactVerification, stepMs }, 'dunning run done');
      return {
        asOf, openDebts, notices, cancelled, manualCollection, suspended, reconnected, contactVerification,
        ms: Math.round(performance.now() - started), stepMs,
      };
    } finally {
      await dropOpenDebtSnapshot(run.db);
    }
  });
}
