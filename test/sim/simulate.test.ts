/**
 * `zerotouch simulate` as a user runs it (the CLI in a child process), then every figure of its JSON
 * report recomputed from the rows the simulation left in the database, from DOMAIN.md's definitions,
 * in TypeScript: no SQL of report.ts is reused, only plain row selects.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, openDatabase, type Database } from '../../src/platform/index.ts';
import type { SimulationReport } from '../../src/sim/report.ts';

const CUSTOMERS = 400;
const SEED = 11;
const START = '2026-01-01';
const BILLING_END = '2026-01-31';
// ten days after the month: the first cycle's bills reach overdue notice 3 and a person (due 01-16, +15, +3)
const TAIL_DAYS = 10;
const END = addDays(BILLING_END, TAIL_DAYS);
// unreachable meters and clock faults, no whole concentrator offline: a small province has only a few of them
const FAULTS = 'unreachable=0.02:3,drift=0.002:30,backwards=0.002:50';
const AUTOMATIC = new Set(['file', 'frontend', 'api', 'mqtt']);

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');

/** Yuan string → integer fen, exactly. */
function fen(yuan: string | number): bigint {
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(String(yuan));
  if (!m) throw new Error(`not an amount: ${yuan}`);
  const v = BigInt(m[2]!) * 100n + BigInt((m[3] ?? '').padEnd(2, '0'));
  return m[1] ? -v : v;
}
const yuan = (f: bigint) => `${f < 0n ? '-' : ''}${(f < 0n ? -f : f) / 100n}.${String((f < 0n ? -f : f) % 100n).padStart(2, '0')}`;
/** a / b to 4 decimals, half up, on integers. */
const ratio4 = (a: bigint, b: bigint) => (b === 0n ? 0 : Number((a * 10_000n + b / 2n) / b) / 10_000);
const share4 = (a: number, b: number) => ratio4(BigInt(a), BigInt(b));
const days = (from: string, to: string) => {
  const out: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
};
const isoDate = (v: unknown) => (v instanceof Date ? v.toISOString().slice(0, 10) : String(v).slice(0, 10));
const instant = (v: unknown) => (v instanceof Date ? v.getTime() : Date.parse(String(v)));

describe('zerotouch simulate (headless month through the CLI)', () => {
  let tmp: string;
  let stdout: string;
  let report: SimulationReport;
  let database: Database;
  let drop: () => Promise<void>;
  const rows = async <T,>(q: ReturnType<typeof sql>) => (await q.execute(database.db)).rows as T[];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zt-simulate-'));
    const out = path.join(tmp, 'report.json');
    const dataDir = path.join(tmp, 'data');
    const res = await run(process.execPath, [
      '--import', 'tsx', 'src/cli/main.ts', 'simulate', '--customers', String(CUSTOMERS), '--months', '1', '--seed', String(SEED),
      '--start', START, '--tail-days', String(TAIL_DAYS), '--faults', FAULTS, '--keep', '--quiet', '--out', out,
    ], { cwd: root, env: { ...process.env, ZEROTOUCH_DATA: dataDir, LOG_LEVEL: 'warn' }, maxBuffer: 16 << 20, timeout: 15 * 60_000 });
    stdout = res.stdout;
    report = JSON.parse(fs.readFileSync(out, 'utf8')) as SimulationReport;
    const url = process.env.DATABASE_URL;
    if (url) {
      // the CLI made its own database on the server and kept it: this test owns it and drops it
      const name = /kept database (\w+)/.exec(res.stderr)?.[1];
      if (!name) throw new Error(`no kept database in: ${res.stderr}`);
      const u = new URL(url);
      u.pathname = `/${name}`;
      database = await openDatabase({ databaseUrl: u.toString(), poolSize: 2 });
      drop = async () => {
        await database.close();
        const admin = new pg.Client({ connectionString: url });
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      };
    } else {
      database = await openDatabase({ dataDir });
      drop = () => database.close();
    }
  }, 20 * 60_000);

  afterAll(async () => {
    await drop?.();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('prints the report table and writes the same figures as JSON', () => {
    for (const label of ['read success', 're-read tasks opened / closed', 'bills issued', 'collection rate', 'overdue cases',
      'cleared without a person', 'escalated to a community manager', 'notices by step', 'staff (FTE), manual baseline', 'staff reduction']) {
      expect(stdout).toContain(label);
    }
    expect(stdout).toContain(`${report.customers} / ${report.meters}`);
    expect(stdout).toContain(`${report.reReadTasks.opened} / ${report.reReadTasks.closed}`);
    expect(stdout).toContain(`${report.bills.billedYuan} / ${report.collection.collectedYuan}`);
    expect(report.window).toMatchObject({ from: START, billingEnd: BILLING_END, to: END, days: 31 + TAIL_DAYS, billingMonths: 1 });
  });

  it('counts the customers and installed meters of the province', async () => {
    const [c] = await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM customer`);
    const meters = await rows<{ state: string }>(sql`SELECT state FROM meter`);
    expect(c!.n).toBe(CUSTOMERS);
    expect(report.customers).toBe(CUSTOMERS);
    expect(report.meters).toBe(meters.filter((m) => m.state === 'installed').length);
  });

  it('read success: valid readings per meter-day in scope, from the readings themselves', async () => {
    const points = await rows<{ meter_id: number; installed_on: string; removed_on: string | null; state: string }>(sql`
      SELECT sp.meter_id, sp.installed_on, sp.removed_on, m.state FROM service_point sp JOIN meter m ON m.id = sp.meter_id`);
    const readings = await rows<{ meter_id: number; reading_date: string; total_kwh: string | null; quality: string; source: string }>(sql`
      SELECT meter_id, reading_date, total_kwh, quality, source FROM meter_reading WHERE reading_date BETWEEN ${START}::date AND ${END}::date`);
    const byDay = new Map<string, Map<number, { quality: string; source: string; total: string | null }>>();
    for (const r of readings) {
      const day = isoDate(r.reading_date);
      if (!byDay.has(day)) byDay.set(day, new Map());
      byDay.get(day)!.set(Number(r.meter_id), { quality: r.quality, source: r.source, total: r.total_kwh });
    }
    let expected = 0;
    let read = 0;
    let automatic = 0;
    let worst = 1;
    for (const day of days(START, END)) {
      const inScope = points.filter((p) => p.state === 'installed' && p.removed_on === null && isoDate(p.installed_on) <= day);
      let dayRead = 0;
      for (const p of inScope) {
        const r = byDay.get(day)?.get(Number(p.meter_id));
        if (!r || r.total === null || r.quality === 'estimated') continue;
        dayRead++;
        if (AUTOMATIC.has(r.source)) automatic++;
      }
      expected += inScope.length;
      read += dayRead;
      worst = Math.min(worst, inScope.length ? dayRead / inScope.length : 1);
    }
    expect(report.readSuccess).toEqual({
      average: share4(read, expected), automatic: share4(automatic, expected), worstDay: Math.round(worst * 10_000) / 10_000,
      meterDaysRead: read, meterDaysAutomatic: automatic, meterDaysExpected: expected,
    });
    expect(expected).toBe(CUSTOMERS * (31 + TAIL_DAYS));
    // plausible for the seeded faults: 2 % of meters unreachable for 3 days, re-read on site
    expect(report.readSuccess.average).toBeGreaterThan(0.95);
    expect(report.readSuccess.automatic).toBeGreaterThan(0.95);
    expect(report.readSuccess.automatic).toBeLessThan(1);
    expect(report.readSuccess.worstDay).toBeLessThan(report.readSuccess.average);
  });

  it('re-read tasks: opened and closed, on site only where a person entered a reading', async () => {
    const tasks = await rows<{ meter_id: number; closed_at: unknown; outcome: { closedBy?: string } | null; payload: { missingSince: string } }>(sql`
      SELECT meter_id, closed_at, outcome, payload FROM task WHERE kind = 're_read'`);
    const reReads = await rows<{ meter_id: number; reading_date: string }>(sql`
      SELECT meter_id, reading_date FROM meter_reading WHERE quality = 're_read' AND source = 'manual'`);
    const onSite = tasks.filter((t) => t.outcome?.closedBy === 'manual_reading');
    expect(report.reReadTasks).toEqual({
      opened: tasks.length, closed: tasks.filter((t) => t.closed_at !== null).length, closedOnSite: onSite.length,
      closedByLateReading: tasks.filter((t) => t.outcome?.closedBy === 'automatic_reading').length,
    });
    // every task closed on site has the person's reading for its meter in the gap it was opened for
    for (const t of onSite) {
      expect(reReads.some((r) => Number(r.meter_id) === Number(t.meter_id) && isoDate(r.reading_date) >= t.payload.missingSince)).toBe(true);
    }
    expect(report.reReadTasks.opened).toBeGreaterThan(0);
    expect(report.reReadTasks.closedOnSite).toBeGreaterThan(0);
    // meters drop out all month long, not only in the first days: gaps start in every third of the window
    const starts = tasks.map((t) => t.payload.missingSince);
    for (const [from, to] of [[START, '2026-01-14'], ['2026-01-15', '2026-01-28'], ['2026-01-29', END]] as const) {
      expect(starts.filter((d) => d >= from && d <= to).length).toBeGreaterThan(0);
    }
  });

  describe('money', () => {
    interface Bill { id: number; bill_id: number; amount: string; issued_on: string; due_date: string }
    interface Alloc { receivable_id: number; source_kind: string; principal: string; late_fee: string; applied_on: string; applied_at: unknown; id: number }
    let bills: Bill[];
    let allocs: Map<number, Alloc[]>;
    let escalatedAt: Map<number, number>;

    beforeAll(async () => {
      bills = (await rows<Bill>(sql`SELECT id, bill_id, amount, issued_on, due_date FROM receivable WHERE kind = 'bill'`))
        .filter((b) => isoDate(b.issued_on) >= START && isoDate(b.issued_on) <= BILLING_END);
      allocs = new Map();
      for (const a of await rows<Alloc>(sql`SELECT id, receivable_id, source_kind, principal, late_fee, applied_on, applied_at FROM allocation ORDER BY applied_at, id`)) {
        const list = allocs.get(Number(a.receivable_id)) ?? [];
        list.push(a);
        allocs.set(Number(a.receivable_id), list);
      }
      escalatedAt = new Map();
      for (const t of await rows<{ opened_at: unknown; payload: { billId: number } }>(sql`SELECT opened_at, payload FROM task WHERE kind = 'manual_collection'`)) {
        const b = Number(t.payload.billId);
        escalatedAt.set(b, Math.min(escalatedAt.get(b) ?? Infinity, instant(t.opened_at)));
      }
    });

    const paid = (b: Bill, until: string) => (allocs.get(Number(b.id)) ?? [])
      .filter((a) => a.source_kind === 'payment' && isoDate(a.applied_on) <= until)
      .reduce((s, a) => s + fen(a.principal), 0n);
    // the day before the first of the next month (Date.UTC months are 0-based, so month m is the next one)
    const monthEnd = (d: string) => addDays(new Date(Date.UTC(Number(d.slice(0, 4)), Number(d.slice(5, 7)), 1)).toISOString().slice(0, 10), -1);

    it('bills issued, billed and held for review', async () => {
      const held = await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM bill WHERE kind = 'bill' AND status = 'held' AND period = '2026-01'`);
      expect(report.bills).toEqual({ issued: bills.length, billedYuan: yuan(bills.reduce((s, b) => s + fen(b.amount), 0n)), held: held[0]!.n });
      // each customer has one cycle, so one bill in the month (a few held or not billable)
      expect(bills.length).toBeGreaterThan(CUSTOMERS * 0.9);
      expect(bills.length + report.bills.held).toBeLessThanOrEqual(CUSTOMERS);
    });

    it('collection rate = money received for the bills / billed, at the window end and at each bill\'s month end', async () => {
      const billed = bills.reduce((s, b) => s + fen(b.amount), 0n);
      const collected = bills.reduce((s, b) => s + paid(b, END), 0n);
      const byMonthEnd = bills.reduce((s, b) => s + paid(b, monthEnd(isoDate(b.issued_on))), 0n);
      const fees = bills.reduce((s, b) => s + (allocs.get(Number(b.id)) ?? []).filter((a) => a.source_kind === 'payment').reduce((x, a) => x + fen(a.late_fee), 0n), 0n);
      expect(report.collection).toEqual({
        collectedYuan: yuan(collected), rate: ratio4(collected, billed), collectedByMonthEndYuan: yuan(byMonthEnd), rateAtMonthEnd: ratio4(byMonthEnd, billed),
        lateFeesYuan: yuan(fees),
      });
      // money is conserved: what was allocated from payments never exceeds what customers paid
      const payments = await rows<{ amount: string }>(sql`SELECT amount FROM payment`);
      const allocatedFromPayments = [...allocs.values()].flat().filter((a) => a.source_kind === 'payment').reduce((s, a) => s + fen(a.principal) + fen(a.late_fee), 0n);
      expect(allocatedFromPayments).toBeLessThanOrEqual(payments.reduce((s, p) => s + fen(p.amount), 0n));
      expect(report.collection.rate).toBeGreaterThan(0.5);
      expect(report.collection.rate).toBeLessThan(1);
      expect(report.collection.rateAtMonthEnd).toBeLessThanOrEqual(report.collection.rate);
      expect(fen(report.collection.lateFeesYuan)).toBeGreaterThan(0n);
    });

    it('overdue cases, cleared without a person (paid before any escalation), escalations', async () => {
      let overdue = 0;
      let clearedAlone = 0;
      let escalated = 0;
      let open = 0;
      for (const b of bills) {
        const amount = fen(b.amount);
        // the instant the payments reached the amount
        let sum = 0n;
        let clearedAt: number | null = null;
        for (const a of (allocs.get(Number(b.id)) ?? []).filter((x) => x.source_kind === 'payment' && isoDate(x.applied_on) <= END)) {
          sum += fen(a.principal);
          if (clearedAt === null && sum >= amount) clearedAt = instant(a.applied_at);
          if (sum < amount) clearedAt = null;
        }
        if (sum < amount) open++;
        if (paid(b, isoDate(b.due_date)) >= amount) continue;
        overdue++;
        const esc = escalatedAt.get(Number(b.bill_id));
        if (esc !== undefined) escalated++;
        if (clearedAt !== null && (esc === undefined || esc > clearedAt)) clearedAlone++;
      }
      expect(report.chase).toMatchObject({
        overdueCases: overdue, clearedWithoutPerson: clearedAlone, clearedWithoutPersonShare: share4(clearedAlone, overdue), escalated, stillOpen: open,
      });
      expect(overdue).toBeGreaterThan(0);
      expect(escalated).toBeGreaterThan(0);
      expect(clearedAlone).toBeGreaterThan(0);
      expect(clearedAlone + escalated).toBeLessThanOrEqual(overdue);
    });

    it('a person chases only after 3 automatic notices (or when the customer has no channel)', async () => {
      const tasks = await rows<{ opened_at: unknown; payload: { billId: number; reason: string } }>(sql`SELECT opened_at, payload FROM task WHERE kind = 'manual_collection'`);
      const notice3 = await rows<{ bill_id: number; created_on: string; status: string }>(sql`SELECT bill_id, created_on, status FROM dunning_notice WHERE step = 'overdue_3'`);
      for (const t of tasks.filter((x) => x.payload.reason === 'after_notice_3')) {
        const n = notice3.find((x) => Number(x.bill_id) === Number(t.payload.billId));
        expect(n).toBeDefined();
        const openedOn = isoDate(new Date(instant(t.opened_at) + 8 * 3600_000));
        expect(openedOn >= addDays(isoDate(n!.created_on), 3), `task opened ${openedOn}, notice 3 on ${isoDate(n!.created_on)}`).toBe(true);
      }
      expect(tasks.some((t) => t.payload.reason === 'after_notice_3')).toBe(true);
    });
  });

  it('notices by step: those handed to a channel; delivered, failed, without a channel, cancelled', async () => {
    const notices = await rows<{ step: string; status: string; created_on: string }>(sql`SELECT step, status, created_on FROM dunning_notice`);
    const inWindow = notices.filter((n) => isoDate(n.created_on) >= START && isoDate(n.created_on) <= END);
    const sent: Record<string, number> = {};
    for (const n of inWindow) if (['sent', 'delivered', 'failed'].includes(n.status)) sent[n.step] = (sent[n.step] ?? 0) + 1;
    const count = (status: string) => inWindow.filter((n) => n.status === status).length;
    expect(report.chase.notices).toEqual(sent);
    expect(report.chase).toMatchObject({ delivered: count('delivered'), failed: count('failed'), noChannel: count('no_channel'), cancelled: count('cancelled') });
    for (const step of ['bill_notice', 'reminder', 'overdue_1', 'overdue_2', 'overdue_3']) expect(sent[step] ?? 0).toBeGreaterThan(0);
    expect(report.chase.delivered).toBeGreaterThan(report.chase.failed);
  });

  it('manual tasks by kind, and staffing against the manual baseline (DOMAIN.md: ~3,000 households per reader a month)', async () => {
    const tasks = await rows<{ kind: string; closed_at: unknown }>(sql`SELECT kind, closed_at FROM task`);
    const byKind: Record<string, { opened: number; closed: number }> = {};
    for (const t of tasks) {
      byKind[t.kind] ??= { opened: 0, closed: 0 };
      byKind[t.kind]!.opened++;
      if (t.closed_at !== null) byKind[t.kind]!.closed++;
    }
    expect(report.manualTasks).toEqual(byKind);

    const a = report.staffing.assumptions;
    expect(a.manualHouseholdsPerReaderMonth).toBe(3000);
    const [areas] = await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM transformer_area`);
    const windowMonths = (31 + TAIL_DAYS) / 30;
    const fte = (x: number) => Math.round(x * 100) / 100;
    const manual = { readers: fte(CUSTOMERS / 3000), dunners: fte(report.chase.overdueCases / 1 / a.visitsPerPersonMonth) };
    const zt = {
      collectionOperators: fte(areas!.n / a.areasPerOperator),
      reReaders: fte(byKind.re_read!.opened / windowMonths / a.reReadsPerPersonMonth),
      dunners: fte((byKind.manual_collection?.opened ?? 0) / 1 / a.visitsPerPersonMonth),
    };
    const manualTotal = fte(manual.readers + manual.dunners);
    const ztTotal = fte(zt.collectionOperators + zt.reReaders + zt.dunners);
    expect(report.staffing.manual).toEqual({ ...manual, total: manualTotal, householdsPerPerson: Math.round(CUSTOMERS / manualTotal) });
    expect(report.staffing.zeroTouch).toEqual({ ...zt, total: ztTotal, householdsPerPerson: Math.round(CUSTOMERS / ztTotal) });
    expect(report.staffing.reduction).toBe(Math.round(((manualTotal - ztTotal) / manualTotal) * 10_000) / 10_000);
    // the reform's direction: fewer people, more households per person
    expect(ztTotal).toBeLessThan(manualTotal);
  });
});
