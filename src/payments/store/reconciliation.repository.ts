import crypto from 'node:crypto';
import { sql } from 'kysely';
import { AppError, requireIsoDate, notFound, today, type Clock, type Db } from '../../platform/index.ts';
import { csvRecords } from '../domain/csv.ts';
import { backdatingRejection, isRejection, PAYMENT_CHANNELS, validatePayment, type PaymentInput, type Rejection } from '../domain/payment-input.ts';
import { loadBackdatingWindow } from './date-policy.repository.ts';
import { postPaymentBatch, REJECTION_FOR_STATUS, type RowRejection } from './import.repository.ts';

export interface ReconciliationItem {
  line: number | null;
  kind: 'missing_in_ledger' | 'missing_in_file' | 'amount_mismatch' | 'customer_mismatch' | 'reversed_in_ledger' | 'rejected';
  reference: string | null;
  customerNumber: string | null;
  fileAmount: string | null;
  ledgerAmount: string | null;
  paymentId: number | null;
  posted: boolean;
  code: string | null;
  reason: string | null;
}

export interface ReconciliationRun {
  id: number;
  channel: string;
  settlementDate: string;
  fileName: string;
  /** The org subtree the run reconciled: '/' for the whole ledger, else the rows of that subtree's customers. */
  scopePath: string;
  runAt: string;
  runBy: string;
  fileRows: number;
  matched: number;
  missingInLedger: number;
  posted: number;
  missingInFile: number;
  mismatched: number;
  rejected: number;
}

interface RunRow {
  id: number; channel: string; settlement_date: string; file_name: string; scope_path: string; run_at: Date; run_by: string; file_rows: number; matched: number;
  missing_in_ledger: number; posted: number; missing_in_file: number; mismatched: number; rejected: number;
}
const runRowToRun = (r: RunRow): ReconciliationRun => ({
  id: Number(r.id), channel: r.channel, settlementDate: r.settlement_date, fileName: r.file_name, scopePath: r.scope_path, runAt: r.run_at.toISOString(), runBy: r.run_by,
  fileRows: r.file_rows, matched: r.matched, missingInLedger: r.missing_in_ledger, posted: r.posted, missingInFile: r.missing_in_file,
  mismatched: r.mismatched, rejected: r.rejected,
});

/** The LIKE pattern of the org paths inside a scope ('/', the whole ledger, takes every path). */
const inScopeSql = (orgPath: string) => `${orgPath}%`;

/**
 * Reconcile a bank's daily settlement file (header: reference,customer_number,amount[,currency][,paid_on])
 * for one channel and day against the posted payments: rows the ledger lacks are posted, payments the file
 * lacks and amount or customer differences are reported. The report is stored; the same file again returns it.
 *
 * `scopePath`: the org subtree reconciled ('/' for the whole ledger). A city's clerk reconciles the city's
 * share of a bank's province-wide file: a row whose customer, or whose posted payment's customer, lies
 * outside the scope is rejected (PAYMENT_OUT_OF_SCOPE) without being compared or posted, and payments of
 * customers outside it are not reported missing from the file.
 *
 * A row missing from the ledger is posted only if its date lies in the channel's backdating window (an old
 * settlement file is still compared): one dated before it is reported with PAYMENT_DATE_TOO_OLD, unposted.
 */
export async function reconcileSettlement(db: Db, clock: Clock, input: { channel: string; date: string; fileName: string; csv: string; actor: string; scopePath: string }): Promise<{ run: ReconciliationRun; items: ReconciliationItem[] }> {
  if (!(PAYMENT_CHANNELS as readonly string[]).includes(input.channel)) throw new AppError('PAYMENT_CHANNEL_UNKNOWN', `unknown channel ${input.channel}`);
  requireIsoDate('RECONCILIATION_DATE_INVALID', 'date', input.date);
  if (input.date > today(clock)) throw new AppError('RECONCILIATION_DATE_IN_FUTURE', `a settlement for ${input.date} cannot exist yet (today is ${today(clock)})`);
  const sha = crypto.createHash('sha256').update(input.csv).digest('hex');
  const existing = await sql<{ id: number }>`
    SELECT id FROM reconciliation_run
    WHERE channel = ${input.channel} AND settlement_date = ${input.date}::date AND file_sha256 = ${sha} AND scope_path = ${input.scopePath}`.execute(db);
  if (existing.rows[0]) return getReconciliation(db, Number(existing.rows[0].id)) as Promise<{ run: ReconciliationRun; items: ReconciliationItem[] }>;

  const { header, records } = csvRecords(input.csv);
  // without these columns no row can be read: refuse the file instead of storing a run that rejects every row
  // and reports every posted payment of the day as missing from it
  for (const col of ['reference', 'customer_number', 'amount']) {
    if (!header.includes(col)) throw new AppError('IMPORT_HEADER_INVALID', `the settlement file has no ${col} column (header: reference,customer_number,amount[,currency][,paid_on])`);
  }
  const rejected: RowRejection[] = [];
  const good: { line: number; p: PaymentInput }[] = [];
  const seen = new Set<string>();
  const day = today(clock);
  const window = await loadBackdatingWindow(db);
  for (const rec of records) {
    if (rec.problem || rec.width !== header.length) { rejected.push({ line: rec.line, code: 'IMPORT_ROW_MALFORMED', reason: rec.problem ?? `expected ${header.length} fields, found ${rec.width}` }); continue; }
    const v = validatePayment({ channel: input.channel, reference: rec.get('reference'), customerNumber: rec.get('customer_number'), amount: rec.get('amount'), currency: rec.get('currency') || 'CNY', paidOn: rec.get('paid_on') || input.date }, day);
    if (isRejection(v)) { rejected.push({ line: rec.line, reference: rec.get('reference'), code: v.code, reason: v.reason }); continue; }
    if (seen.has(v.reference)) { rejected.push({ line: rec.line, reference: v.reference, code: 'IMPORT_DUPLICATE_IN_FILE', reason: `reference ${v.reference} appears twice in the file` }); continue; }
    seen.add(v.reference);
    good.push({ line: rec.line, p: v });
  }

  return db.transaction().execute(async (trx) => {
    // compare the file with the ledger before posting anything
    // out_of_scope: the file's customer, or the customer of the payment posted under the row's reference, is
    // outside the scope (the row then reveals nothing of that payment)
    const cmp = await sql<{ line: number; kind: ReconciliationItem['kind'] | 'matched' | 'out_of_scope'; payment_id: number | null; ledger_amount: string | null }>`
      WITH f AS (
        SELECT * FROM unnest(${good.map((g) => g.line)}::int[], ${good.map((g) => g.p.reference)}::text[], ${good.map((g) => g.p.customerNumber)}::text[], ${good.map((g) => g.p.amount)}::numeric[])
          AS t(line, reference, customer_number, amount)
      )
      SELECT f.line, p.id AS payment_id, p.amount::text AS ledger_amount,
             CASE WHEN NOT coalesce(fc.org_path LIKE ${inScopeSql(input.scopePath)}, true) OR NOT coalesce(c.org_path LIKE ${inScopeSql(input.scopePath)}, true) THEN 'out_of_scope'
                  WHEN p.id IS NULL THEN 'missing_in_ledger'
                  WHEN EXISTS (SELECT 1 FROM payment_reversal x WHERE x.payment_id = p.id) THEN 'reversed_in_ledger'
                  WHEN c.number <> f.customer_number THEN 'customer_mismatch'
                  WHEN p.amount <> f.amount THEN 'amount_mismatch' ELSE 'matched' END AS kind
      FROM f LEFT JOIN payment p ON p.channel = ${input.channel} AND p.reference = f.reference
      LEFT JOIN customer c ON c.id = p.customer_id
      LEFT JOIN customer fc ON fc.number = f.customer_number::char(10)`.execute(trx);
    const missingInFile = await sql<{ id: number; reference: string; number: string; amount: string }>`
      SELECT p.id, p.reference, c.number, p.amount::text AS amount FROM payment p JOIN customer c ON c.id = p.customer_id
      WHERE p.channel = ${input.channel} AND p.received_on = ${input.date}::date AND c.org_path LIKE ${inScopeSql(input.scopePath)}
        AND NOT EXISTS (SELECT 1 FROM payment_reversal x WHERE x.payment_id = p.id)
        AND p.reference <> ALL (${good.map((g) => g.p.reference)}::text[])
      ORDER BY p.reference`.execute(trx);
    const byLine = new Map(good.map((g) => [g.line, g.p]));
    const missing = cmp.rows.filter((r) => r.kind === 'missing_in_ledger').map((r) => ({ line: r.line, p: byLine.get(r.line)! }));
    const tooOld = new Map<number, Rejection>();
    for (const m of missing) {
      const late = backdatingRejection(m.p, day, window);
      if (late) tooOld.set(m.line, late);
    }
    const posting = missing.filter((m) => !tooOld.has(m.line));
    const posted = new Map((await postPaymentBatch(trx, clock, posting, input.actor, 'reconciliation')).map((r) => [r.line, r]));

    const items: ReconciliationItem[] = [];
    for (const r of cmp.rows) {
      if (r.kind === 'matched') continue;
      const p = byLine.get(r.line)!;
      if (r.kind === 'out_of_scope') {
        rejected.push({ line: r.line, reference: p.reference, code: 'PAYMENT_OUT_OF_SCOPE', reason: `customer ${p.customerNumber} or the payment posted as ${p.reference} is outside your org scope` });
        continue;
      }
      const post = posted.get(r.line);
      const failed = post && (post.status === 'unknown_customer' || post.status === 'conflict') ? REJECTION_FOR_STATUS[post.status] : tooOld.get(r.line) ?? null;
      items.push({
        line: r.line, kind: r.kind, reference: p.reference, customerNumber: p.customerNumber, fileAmount: p.amount, ledgerAmount: r.ledger_amount,
        paymentId: post?.paymentId ?? (r.payment_id === null ? null : Number(r.payment_id)), posted: post?.status === 'posted',
        code: failed?.code ?? null, reason: failed?.reason ?? null,
      });
    }
    for (const m of missingInFile.rows) {
      items.push({ line: null, kind: 'missing_in_file', reference: m.reference, customerNumber: m.number, fileAmount: null, ledgerAmount: m.amount, paymentId: Number(m.id), posted: false, code: null, reason: 'posted in the ledger, absent from the settlement file' });
    }
    for (const x of rejected.sort((a, b) => a.line - b.line)) {
      items.push({ line: x.line, kind: 'rejected', reference: x.reference ?? null, customerNumber: null, fileAmount: null, ledgerAmount: null, paymentId: null, posted: false, code: x.code, reason: x.reason });
    }
    const count = (k: ReconciliationItem['kind']) => items.filter((i) => i.kind === k).length;
    const run = await sql<RunRow>`
      INSERT INTO reconciliation_run (channel, settlement_date, file_name, file_sha256, scope_path, run_at, run_by, file_rows, matched, missing_in_ledger, posted, missing_in_file, mismatched, rejected)
      VALUES (${input.channel}, ${input.date}::date, ${input.fileName}, ${sha}, ${input.scopePath}, ${clock.now()}::timestamptz, ${input.actor}, ${records.length},
              ${cmp.rows.filter((r) => r.kind === 'matched').length}, ${count('missing_in_ledger')}, ${items.filter((i) => i.posted).length},
              ${count('missing_in_file')}, ${count('amount_mismatch') + count('customer_mismatch') + count('reversed_in_ledger')}, ${count('rejected')})
      RETURNING *`.execute(trx);
    const runId = Number(run.rows[0]!.id);
    if (items.length) {
      await sql`INSERT INTO reconciliation_item (run_id, line, kind, reference, customer_number, file_amount, ledger_amount, payment_id, posted, code, reason)
        SELECT ${runId}, * FROM unnest(${items.map((i) => i.line)}::int[], ${items.map((i) => i.kind)}::text[], ${items.map((i) => i.reference)}::text[],
          ${items.map((i) => i.customerNumber)}::text[], ${items.map((i) => i.fileAmount)}::numeric[], ${items.map((i) => i.ledgerAmount)}::numeric[],
          ${items.map((i) => i.paymentId)}::bigint[], ${items.map((i) => i.posted)}::boolean[], ${items.map((i) => i.code)}::text[], ${items.map((i) => i.reason)}::text[])`.execute(trx);
    }
    return { run: runRowToRun(run.rows[0]!), items };
  });
}

export async function getReconciliation(db: Db, id: number): Promise<{ run: ReconciliationRun; items: ReconciliationItem[] }> {
  const run = await sql<RunRow>`SELECT * FROM reconciliation_run WHERE id = ${id}`.execute(db);
  if (!run.rows[0]) throw notFound('RECONCILIATION_UNKNOWN', `no reconciliation run ${id}`);
  const items = await sql<{ line: number | null; kind: ReconciliationItem['kind']; reference: string | null; customer_number: string | null; file_amount: string | null; ledger_amount: string | null; payment_id: number | null; posted: boolean; code: string | null; reason: string | null }>`
    SELECT * FROM reconciliation_item WHERE run_id = ${id} ORDER BY kind, line NULLS LAST, reference`.execute(db);
  return {
    run: runRowToRun(run.rows[0]),
    items: items.rows.map((i) => ({
      line: i.line, kind: i.kind, reference: i.reference, customerNumber: i.customer_number, fileAmount: i.file_amount, ledgerAmount: i.ledger_amount,
      paymentId: i.payment_id === null ? null : Number(i.payment_id), posted: i.posted, code: i.code, reason: i.reason,
    })),
  };
}

/** True when a run's scope lies inside `scopePath` ('/' sees every run). */
export function reconciliationInScope(run: ReconciliationRun, scopePath: string): boolean {
  return run.scopePath.startsWith(scopePath);
}

/** The runs whose scope lies inside `scopePath` ('/' lists every run). */
export async function listReconciliations(db: Db, q: { scopePath: string; channel?: string; from?: string; to?: string; limit: number; offset: number }): Promise<{ items: ReconciliationRun[]; total: number }> {
  const r = await sql<RunRow & { total: number }>`
    SELECT *, count(*) OVER ()::int AS total FROM reconciliation_run
    WHERE scope_path LIKE ${inScopeSql(q.scopePath)}
      AND (${q.channel ?? null}::text IS NULL OR channel = ${q.channel ?? null})
      AND (${q.from ?? null}::date IS NULL OR settlement_date >= ${q.from ?? null}::date)
      AND (${q.to ?? null}::date IS NULL OR settlement_date <= ${q.to ?? null}::date)
    ORDER BY settlement_date DESC, id DESC LIMIT ${q.limit} OFFSET ${q.offset}`.execute(db);
  return { total: r.rows[0]?.total ?? 0, items: r.rows.map(runRowToRun) };
}
