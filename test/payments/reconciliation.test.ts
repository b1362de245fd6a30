import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { signIn, testApp } from '../support/http.ts';
import { importPayments, reconcileSettlement } from '../../src/payments/index.ts';
import { customersOf, pay } from './builders.ts';

let ctx: TestContext;
let app: FastifyInstance;
let c: { id: number; number: string }[];

beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: '2026-03-02T10:00:00+08:00' });
  app = await testApp(ctx);
  c = await customersOf(ctx, 'residential', 10);
});
afterAll(async () => {
  await app?.close();
  await ctx?.drop();
});

describe('payment file import', () => {
  it('posts the good rows and rejects each bad one with a code and reason', async () => {
    const csv = [
      'channel,reference,customer_number,amount,currency,paid_on',
      `online_wallet,W-1,${c[0]!.number},10.00,CNY,2026-03-01`,
      `online_wallet,W-2,2999999999,10.00,CNY,2026-03-01`,
      `online_wallet,W-3,${c[0]!.number},0,CNY,2026-03-01`,
      `online_wallet,W-4,${c[0]!.number},-3.00,CNY,2026-03-01`,
      `online_wallet,W-5,${c[0]!.number},10.00,USD,2026-03-01`,
      `online_wallet,W-6,${c[0]!.number},10.00,CNY,2026-02-30`,
      `online_wallet,W-7,${c[0]!.number},10.00`,
      `online_wallet,W-1,${c[0]!.number},10.00,CNY,2026-03-01`,
      `online_wallet,W-8,${c[1]!.number},"1,000.00",CNY,2026-03-01`,
      `online_wallet,W-9,${c[1]!.number},25.50,CNY,2026-03-01`,
      // a year the database has no day of (there is no year 0) is this row's fault, not the file's
      `online_wallet,W-10,${c[1]!.number},5.00,CNY,0000-01-01`,
    ].join('\n');
    const r = await importPayments(ctx.db, ctx.clock, csv, 'test');
    expect(r).toMatchObject({ rows: 11, posted: 2, duplicates: 0 });
    expect(r.rejected.map((x) => [x.line, x.code])).toEqual([
      [3, 'PAYMENT_CUSTOMER_UNKNOWN'], [4, 'PAYMENT_AMOUNT_NOT_POSITIVE'], [5, 'PAYMENT_AMOUNT_NOT_POSITIVE'], [6, 'PAYMENT_CURRENCY_NOT_CNY'],
      [7, 'PAYMENT_DATE_INVALID'], [8, 'IMPORT_ROW_MALFORMED'], [9, 'IMPORT_DUPLICATE_IN_FILE'], [10, 'PAYMENT_AMOUNT_INVALID'],
      [12, 'PAYMENT_DATE_INVALID'],
    ]);
    expect(r.rejected.every((x) => x.reason.length > 0)).toBe(true);
    const again = await importPayments(ctx.db, ctx.clock, csv, 'test');
    expect(again).toMatchObject({ posted: 0, duplicates: 2 });
  });

  it('rejects a row dated further back than its channel allows by line; the others are posted', async () => {
    // today is 2026-03-02: 31 days back is 2026-01-30
    const csv = [
      'channel,reference,customer_number,amount,currency,paid_on',
      `bank_counter,OLD-1,${c[8]!.number},1.00,CNY,2026-01-29`,
      `bank_counter,OLD-2,${c[8]!.number},2.00,CNY,2026-01-30`,
      `portal,OLD-3,${c[8]!.number},3.00,CNY,2026-03-01`,
    ].join('\n');
    const r = await importPayments(ctx.db, ctx.clock, csv, 'test');
    expect(r).toMatchObject({ rows: 3, posted: 1, rejected: [{ line: 2, reference: 'OLD-1', code: 'PAYMENT_DATE_TOO_OLD' }, { line: 4, reference: 'OLD-3', code: 'PAYMENT_DATE_TOO_OLD' }] });
    const stored = await sql<{ reference: string }>`SELECT reference FROM payment WHERE reference LIKE 'OLD-%'`.execute(ctx.db);
    expect(stored.rows).toEqual([{ reference: 'OLD-2' }]);
  });

  it('a row with a quote left open is rejected alone; the rows after it are posted', async () => {
    const csv = [
      'channel,reference,customer_number,amount,currency,paid_on',
      `bank_counter,QUOTE-1,${c[8]!.number},1.00,CNY,2026-03-01`,
      `bank_counter,"QUOTE-2,${c[8]!.number},2.00,CNY,2026-03-01`,
      `bank_counter,QUOTE-3,${c[8]!.number},3.00,CNY,2026-03-01`,
      `bank_counter,QUOTE-4,${c[8]!.number},"4.00",CNY,2026-03-01`,
      `bank_counter,QUOTE"5,${c[8]!.number},5.00,CNY,2026-03-01`,
    ].join('\n');
    const r = await importPayments(ctx.db, ctx.clock, csv, 'cli', { channel: 'bank_counter' });
    expect(r).toMatchObject({ rows: 5, posted: 4, duplicates: 0, rejected: [{ line: 3, code: 'IMPORT_ROW_MALFORMED' }] });
    const stored = await sql<{ reference: string; amount: string }>`SELECT reference, amount FROM payment WHERE reference LIKE 'QUOTE%' ORDER BY reference`.execute(ctx.db);
    expect(stored.rows).toEqual([
      { reference: 'QUOTE"5', amount: '5.00' }, { reference: 'QUOTE-1', amount: '1.00' }, { reference: 'QUOTE-3', amount: '3.00' }, { reference: 'QUOTE-4', amount: '4.00' },
    ]);
  });
});

describe('bank settlement reconciliation', () => {
  it('finds every planted discrepancy, posts the missing payments and stores the report', async () => {
    const day = '2026-03-01';
    const ok = await pay(ctx, c[2]!.number, '20.00', day, 'bank_withholding');
    const wrongAmount = await pay(ctx, c[3]!.number, '30.00', day, 'bank_withholding');
    const wrongCustomer = await pay(ctx, c[4]!.number, '40.00', day, 'bank_withholding');
    const notInFile = await pay(ctx, c[5]!.number, '50.00', day, 'bank_withholding');
    const csv = [
      'reference,customer_number,amount,currency',
      `${ok.reference},${c[2]!.number},20.00,CNY`,
      `${wrongAmount.reference},${c[3]!.number},31.00,CNY`,
      `${wrongCustomer.reference},${c[6]!.number},40.00,CNY`,
      `BANK-ONLY-1,${c[7]!.number},60.00,CNY`,
      `BANK-ONLY-2,2999999999,70.00,CNY`,
      `BANK-BAD,${c[7]!.number},abc,CNY`,
    ].join('\n');
    const { run, items } = await reconcileSettlement(ctx.db, ctx.clock, { channel: 'bank_withholding', date: day, fileName: 'bw-0301.csv', csv, actor: 'test', scopePath: '/' });
    expect(run).toMatchObject({ fileRows: 6, matched: 1, missingInLedger: 2, posted: 1, missingInFile: 1, mismatched: 2, rejected: 1 });
    const byKind = (k: string) => items.filter((i) => i.kind === k).map((i) => i.reference).sort();
    expect(byKind('amount_mismatch')).toEqual([wrongAmount.reference]);
    expect(byKind('customer_mismatch')).toEqual([wrongCustomer.reference]);
    expect(byKind('missing_in_file')).toEqual([notInFile.reference]);
    expect(byKind('missing_in_ledger')).toEqual(['BANK-ONLY-1', 'BANK-ONLY-2']);
    expect(items.find((i) => i.reference === 'BANK-ONLY-1')).toMatchObject({ posted: true });
    expect(items.find((i) => i.reference === 'BANK-ONLY-2')).toMatchObject({ posted: false, code: 'PAYMENT_CUSTOMER_UNKNOWN' });
    expect(byKind('rejected')).toEqual(['BANK-BAD']);
    const posted = await sql<{ source: string; amount: string }>`SELECT source, amount FROM payment WHERE reference = 'BANK-ONLY-1'`.execute(ctx.db);
    expect(posted.rows).toEqual([{ source: 'reconciliation', amount: '60.00' }]);

    // the same file again returns the stored run and posts nothing more
    const again = await reconcileSettlement(ctx.db, ctx.clock, { channel: 'bank_withholding', date: day, fileName: 'bw-0301.csv', csv, actor: 'test', scopePath: '/' });
    expect(again.run.id).toBe(run.id);
    expect(again.items).toHaveLength(items.length);

    const admin = await signIn(app, 'admin');
    const list = await app.inject({ url: '/api/v1/payments/reconciliations?channel=bank_withholding', headers: admin });
    expect(list.json()).toMatchObject({ total: 1, items: [{ id: run.id, missingInFile: 1 }] });
    const one = await app.inject({ url: `/api/v1/payments/reconciliations/${run.id}`, headers: admin });
    expect(one.json().items).toHaveLength(items.length);
  });

  it('refuses a settlement file without an amount column with IMPORT_HEADER_INVALID and stores no run', async () => {
    const day = '2026-03-01';
    await pay(ctx, c[2]!.number, '21.00', day, 'online_wallet');
    const csv = `reference,customer_number\nOW-NOAMT-1,${c[2]!.number}\n`;
    await expect(reconcileSettlement(ctx.db, ctx.clock, { channel: 'online_wallet', date: day, fileName: 'ow-0301.csv', csv, actor: 'test', scopePath: '/' }))
      .rejects.toMatchObject({ code: 'IMPORT_HEADER_INVALID', status: 400 });
    const runs = await sql<{ n: number }>`SELECT count(*)::int AS n FROM reconciliation_run WHERE channel = 'online_wallet' AND settlement_date = ${day}::date`.execute(ctx.db);
    expect(runs.rows[0]!.n).toBe(0);
  });

  it('a settlement file row with a quote left open is rejected alone; the rows after it are reconciled', async () => {
    const day = '2026-03-01';
    const csv = `reference,customer_number,amount\n"GM-OPEN-1,${c[9]!.number},1.00\nGM-AFTER-2,${c[9]!.number},2.00\n`;
    const { run, items } = await reconcileSettlement(ctx.db, ctx.clock, { channel: 'grid_manager', date: day, fileName: 'gm.csv', csv, actor: 'test', scopePath: '/' });
    expect(run).toMatchObject({ fileRows: 2, missingInLedger: 1, posted: 1, rejected: 1 });
    expect(items.find((i) => i.kind === 'rejected')).toMatchObject({ line: 2, code: 'IMPORT_ROW_MALFORMED' });
  });

  it('compares an old settlement file, but reports its rows missing from the ledger unposted when too old to post', async () => {
    const day = '2026-01-20';
    const paid = await pay(ctx, c[9]!.number, '7.00', day, 'bank_withholding');
    const csv = `reference,customer_number,amount\n${paid.reference},${c[9]!.number},7.00\nBW-OLD-1,${c[9]!.number},8.00\n`;
    const { run, items } = await reconcileSettlement(ctx.db, ctx.clock, { channel: 'bank_withholding', date: day, fileName: 'bw-0120.csv', csv, actor: 'test', scopePath: '/' });
    expect(run).toMatchObject({ fileRows: 2, matched: 1, missingInLedger: 1, posted: 0 });
    expect(items).toEqual([expect.objectContaining({ kind: 'missing_in_ledger', reference: 'BW-OLD-1', posted: false, code: 'PAYMENT_DATE_TOO_OLD' })]);
    const stored = await sql<{ n: number }>`SELECT count(*)::int AS n FROM payment WHERE reference = 'BW-OLD-1'`.execute(ctx.db);
    expect(stored.rows[0]!.n).toBe(0);
  });

  it('refuses a settlement dated after today, whichever way it comes (HTTP or the CLI)', async () => {
    await expect(reconcileSettlement(ctx.db, ctx.clock, { channel: 'bank_counter', date: '2026-03-03', fileName: 'bc.csv', csv: 'reference,customer_number,amount\n', actor: 'cli', scopePath: '/' }))
      .rejects.toMatchObject({ code: 'RECONCILIATION_DATE_IN_FUTURE', status: 400 });
    const runs = await sql<{ n: number }>`SELECT count(*)::int AS n FROM reconciliation_run WHERE settlement_date > '2026-03-02'`.execute(ctx.db);
    expect(runs.rows[0]!.n).toBe(0);
  });

  it('takes a settlement file over HTTP as text/csv', async () => {
    const admin = await signIn(app, 'admin');
    const r = await app.inject({
      method: 'POST', url: '/api/v1/payments/reconciliations?channel=online_wallet&date=2026-03-02', headers: { ...admin, 'content-type': 'text/csv' },
      payload: `reference,customer_number,amount\nOW-HTTP-1,${c[1]!.number},12.34\n`,
    });
    expect(r.statusCode).toBe(201);
    expect(r.json().run).toMatchObject({ missingInLedger: 1, posted: 1 });
  });
});

describe('reconciliation in the org scope of the clerk', () => {
  it("a city clerk reconciles and posts only the city's share of a province-wide file, and only the city's clerks see the run", async () => {
    const day = '2026-02-27';
    const inCity = async (city: string) => (await sql<{ number: string }>`
      SELECT number FROM customer WHERE org_path LIKE ${`/SGCC/LN/${city}/%`} ORDER BY id LIMIT 2`.execute(ctx.db)).rows.map((r) => r.number);
    const [own1, own2] = (await inCity('LN01')) as [string, string];
    const [other1, other2] = (await inCity('LN02')) as [string, string];
    const ownPaid = await pay(ctx, own1, '11.00', day, 'online_wallet');
    const otherPaid = await pay(ctx, other1, '22.00', day, 'online_wallet');
    const otherUnlisted = await pay(ctx, other2, '33.00', day, 'online_wallet');
    const csv = [
      'reference,customer_number,amount',
      `${ownPaid.reference},${own1},11.00`,
      `OW-SCOPE-OWN,${own2},44.00`,
      `OW-SCOPE-OTHER,${other1},55.00`,
      // another city's payment under a number of this city: nothing of that payment is shown
      `${otherPaid.reference},${own2},22.00`,
    ].join('\n');
    const reconcile = async (headers: { authorization: string }) => app.inject({
      method: 'POST', url: `/api/v1/payments/reconciliations?channel=online_wallet&date=${day}`, headers: { ...headers, 'content-type': 'text/csv' }, payload: csv,
    });
    const [clerk, otherClerk, admin] = [await signIn(app, 'clerk.LN01'), await signIn(app, 'clerk.LN02'), await signIn(app, 'admin')];

    const mine = await reconcile(clerk);
    expect(mine.statusCode, mine.body).toBe(201);
    const { run, items } = mine.json() as { run: { id: number }; items: { kind: string; line: number | null; code: string | null; reference: string | null; ledgerAmount: string | null }[] };
    expect(run).toMatchObject({ scopePath: '/SGCC/LN/LN01/', fileRows: 4, matched: 1, missingInLedger: 1, posted: 1, missingInFile: 0, mismatched: 0, rejected: 2 });
    expect(items.filter((i) => i.kind === 'rejected').map((i) => [i.line, i.code])).toEqual([[4, 'PAYMENT_OUT_OF_SCOPE'], [5, 'PAYMENT_OUT_OF_SCOPE']]);
    expect(items.some((i) => i.ledgerAmount !== null || i.reference === otherUnlisted.reference)).toBe(false);
    const posted = await sql<{ reference: string }>`SELECT reference FROM payment WHERE reference LIKE 'OW-SCOPE-%' ORDER BY reference`.execute(ctx.db);
    expect(posted.rows).toEqual([{ reference: 'OW-SCOPE-OWN' }]);

    // the other city's clerk neither lists nor opens the run; the clerk who ran it does
    const listed = async (headers: { authorization: string }) =>
      ((await app.inject({ url: `/api/v1/payments/reconciliations?from=${day}&to=${day}`, headers })).json().items as { id: number }[]).map((x) => x.id);
    expect(await listed(otherClerk)).not.toContain(run.id);
    const theirs = await app.inject({ url: `/api/v1/payments/reconciliations/${run.id}`, headers: otherClerk });
    expect([theirs.statusCode, theirs.json().code]).toEqual([403, 'AUTH_FORBIDDEN']);
    expect(await listed(clerk)).toContain(run.id);
    expect((await app.inject({ url: `/api/v1/payments/reconciliations/${run.id}`, headers: clerk })).statusCode).toBe(200);

    // the same file is a run of its own for the other city: its share posted, its unlisted payment reported
    const their = (await reconcile(otherClerk)).json();
    expect(their.run).toMatchObject({ scopePath: '/SGCC/LN/LN02/', matched: 0, missingInLedger: 1, posted: 1, missingInFile: 1, rejected: 3 });
    expect(their.run.id).not.toBe(run.id);
    expect(their.items.find((i: { kind: string }) => i.kind === 'missing_in_file')).toMatchObject({ reference: otherUnlisted.reference });

    // province-wide staff reconcile the whole file and see every run
    const all = (await reconcile(admin)).json();
    expect(all.run).toMatchObject({ scopePath: '/', matched: 3, missingInLedger: 0, mismatched: 1, missingInFile: 1, rejected: 0 });
    expect(all.items.find((i: { kind: string }) => i.kind === 'customer_mismatch')).toMatchObject({ reference: otherPaid.reference, ledgerAmount: '22.00' });
    expect(await listed(admin)).toEqual(expect.arrayContaining([run.id, their.run.id, all.run.id]));
    expect((await app.inject({ url: `/api/v1/payments/reconciliations/${their.run.id}`, headers: admin })).statusCode).toBe(200);
  });
});
