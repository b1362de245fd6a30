/**
 * Payment posting over HTTP on the PostgreSQL server: 32 concurrent clients post payments (10% of the posts
 * are retries of an earlier reference, as a bank would resend), then the ledger is checked: every reference
 * posted once, none lost, none doubled, money conserved.
 *
 *   npx tsx bench/payments-post.ts [--customers 100000] [--payments 40000] [--clients 32]
 *
 * Also printed: CPU per post of the server's connections to the bench database and of this process (the HTTP
 * server and the load generator thread), to tell the server's cost from the shared machine's load.
 */
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import { createLogger, loadConfig, SimulatedClock, type AppContext } from '../src/platform/index.ts';
import { seedProvince } from '../src/sim/seed.ts';
import { buildApp } from '../src/http/app.ts';
import { issueChannelToken, postDebitsFrom } from '../src/payments/index.ts';
import { arg, benchDatabase, report } from './support.ts';

const customers = arg('customers', 100_000);
const payments = arg('payments', 40_000);
const clients = arg('clients', 32);
const secs = (t0: number) => (performance.now() - t0) / 1000;

/** CPU seconds (user + system) used so far by each server connection to this database (autovacuum not counted); null when /proc cannot tell (server not local). */
async function backendsCpu(db: AppContext['db']): Promise<Map<number, number> | null> {
  const pids = (await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()`.execute(db)).rows;
  const cpu = new Map<number, number>();
  for (const { pid } of pids) {
    try {
      const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop()!.trim().split(/\s+/);
      cpu.set(pid, (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      return null;
    }
  }
  return cpu;
}

/** CPU seconds the backends used between two readings (a backend opened in between started from 0). */
function cpuBetween(before: Map<number, number> | null, after: Map<number, number> | null): number | null {
  if (!before || !after) return null;
  let s = 0;
  for (const [pid, t] of after) s += t - (before.get(pid) ?? 0);
  return s;
}

// The load generator runs in its own thread so the server's event loop is not also the client's. Each of the
// clients is one keep-alive HTTP/1.1 connection posting one request at a time and reading its whole answer
// (status line, headers, Content-Length body). It speaks the protocol on a plain socket: node's http client
// spent about 0.25 ms of CPU per request, taken from the two cores the server under test runs on.
const CLIENT = `
const { parentPort, workerData: w } = require('node:worker_threads');
const net = require('node:net');
const sockets = [];
function connection() {
  const socket = net.connect({ host: '127.0.0.1', port: w.port });
  sockets.push(socket);
  socket.setNoDelay(true);
  let buf = Buffer.alloc(0); let waiting = null;
  socket.on('data', (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    if (!waiting) return;
    const end = buf.indexOf('\\r\\n\\r\\n');
    if (end < 0) return;
    const head = buf.subarray(0, end).toString('latin1');
    const m = /\\r\\ncontent-length: *(\\d+)/i.exec(head);
    if (!m) { waiting.reject(new Error('no content-length: ' + head)); waiting = null; return; }
    const total = end + 4 + Number(m[1]);
    if (buf.length < total) return;
    const body = buf.subarray(end + 4, total).toString('utf8');
    buf = buf.subarray(total);
    const w0 = waiting; waiting = null;
    w0.resolve({ status: Number(head.slice(9, 12)), body });
  });
  socket.on('error', (e) => { if (waiting) waiting.reject(e); });
  return (body) => new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    waiting = { resolve, reject };
    socket.write('POST /api/v1/payments HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nConnection: keep-alive\\r\\nContent-Type: application/json\\r\\nAuthorization: Bearer ' + w.token +
      '\\r\\nContent-Length: ' + Buffer.byteLength(data) + '\\r\\n\\r\\n' + data);
  });
}
(async () => {
  let next = 0; const statuses = {}; const errors = [];
  const t0 = performance.now();
  async function client() {
    const post = connection();
    for (;;) {
      const i = next++;
      if (i >= w.payments) return;
      // every 10th post resends an earlier reference with the same content
      const k = i % 10 === 9 ? i - 5 : i;
      const customer = w.numbers[k % w.numbers.length];
      const amount = (10 + (k % 9000) / 100).toFixed(2);
      const r = await post({ channel: 'bank_counter', reference: 'BENCH-' + k, customerNumber: customer, amount, currency: 'CNY', paidOn: w.paidOn });
      statuses[r.status] = (statuses[r.status] || 0) + 1;
      if (r.status >= 300 && errors.length < 5) errors.push(r.body);
    }
  }
  await Promise.all(Array.from({ length: w.clients }, client));
  const ms = performance.now() - t0;
  for (const s of sockets) s.end();
  parentPort.postMessage({ ms, statuses, errors });
})();
`;

async function main() {
  const database = await benchDatabase('zt_bench_payments');
  let t = performance.now();
  await seedProvince(database, { customers, seed: 1, since: '2025-01-01' });
  console.log(`seeded ${customers} customers in ${secs(t).toFixed(1)} s`);
  const clock = new SimulatedClock('2026-03-01T10:00:00+08:00');
  const ctx: AppContext = { database, db: database.db, clock, log: createLogger('bench'), config: { ...loadConfig({}), port: 0 } };

  t = performance.now();
  // two released bills per customer, one overdue
  const posted = await postDebitsFrom(ctx.db, clock, sql`
    SELECT c.id * 10 + k AS bill_id, c.id AS customer_id, 'BENCH' || (c.id * 10 + k) AS bill_no, CASE k WHEN 1 THEN '2026-01' ELSE '2026-02' END AS period,
           'bill' AS kind, (20 + (c.id * 7919 + k) % 20000 / 100.0)::numeric(14,2) AS amount,
           CASE k WHEN 1 THEN date '2026-01-05' ELSE date '2026-02-05' END AS issued_on,
           CASE k WHEN 1 THEN date '2026-01-25' ELSE date '2026-02-25' END AS due_date, now() AS released_at
    FROM customer c CROSS JOIN (VALUES (1), (2)) AS b(k)`);
  console.log(`posted ${posted.posted} bills in ${secs(t).toFixed(1)} s`);

  const numbers = (await sql<{ number: string }>`SELECT number FROM customer ORDER BY id LIMIT ${Math.min(customers, 20_000)}`.execute(ctx.db)).rows.map((r) => r.number);
  const token = await issueChannelToken(ctx.db, 'bank_counter');
  const app = await buildApp(ctx);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const cpu0 = await backendsCpu(ctx.db);
  const node0 = process.cpuUsage();

  const result = await new Promise<{ ms: number; statuses: Record<string, number>; errors: string[] }>((resolve, reject) => {
    const w = new Worker(CLIENT, { eval: true, workerData: { port, token, numbers, payments, clients, paidOn: '2026-03-01' } });
    w.once('message', resolve);
    w.once('error', reject);
  });
  // the load generator is a worker thread of this process: its CPU is in the process figure too
  const nodeCpu = process.cpuUsage(node0);
  const dbCpu = cpuBetween(cpu0, await backendsCpu(ctx.db));
  await app.close();

  const unique = payments - Math.floor(payments / 10);
  const check = (await sql<{ n: number; refs: number; total: string; ledger: string; allocated_over: number; expected: string; dup_alloc: number; balance_gap: number }>`
    WITH expected AS (
      SELECT sum((10 + (k % 9000) / 100.0)::numeric(14,2)) AS total
      FROM generate_series(0, ${payments - 1}) AS i, LATERAL (SELECT CASE WHEN i % 10 = 9 THEN i - 5 ELSE i END AS k) x
      WHERE i % 10 <> 9
    )
    SELECT (SELECT count(*) FROM payment)::int AS n,
           (SELECT count(DISTINCT reference) FROM payment)::int AS refs,
           (SELECT sum(amount) FROM payment)::text AS total,
           (SELECT -sum(amount) FROM ledger_entry WHERE kind = 'payment')::text AS ledger,
           (SELECT total FROM expected)::text AS expected,
           -- no payment allocated more than it brought
           (SELECT count(*) FROM payment p WHERE p.amount < (SELECT coalesce(sum(a.principal + a.late_fee), 0) FROM allocation a WHERE a.source_kind = 'payment' AND a.source_id = p.id))::int AS allocated_over,
           -- no debt paid beyond its amount
           (SELECT count(*) FROM receivable r WHERE r.amount < (SELECT coalesce(sum(a.principal), 0) FROM allocation a WHERE a.receivable_id = r.id))::int AS dup_alloc,
           -- per account: ledger balance = open principal − unallocated money
           (SELECT count(*) FROM (
              SELECT l.customer_id FROM (SELECT customer_id, sum(amount) AS b FROM ledger_entry GROUP BY customer_id) l
              LEFT JOIN (SELECT r.customer_id, sum(r.amount - coalesce(a.p, 0)) AS open FROM receivable r
                         LEFT JOIN (SELECT receivable_id, sum(principal) AS p FROM allocation GROUP BY receivable_id) a ON a.receivable_id = r.id GROUP BY r.customer_id) o USING (customer_id)
              LEFT JOIN (SELECT customer_id, sum(remaining) AS prepaid FROM payments_credit_source GROUP BY customer_id) pp USING (customer_id)
              WHERE l.b <> coalesce(o.open, 0) - coalesce(pp.prepaid, 0)) x)::int AS balance_gap`.execute(ctx.db)).rows[0]!;
  const ok = check.n === unique && check.refs === unique && check.total === check.expected && check.ledger === check.expected && check.allocated_over === 0 && check.dup_alloc === 0 && check.balance_gap === 0;
  report('payments posting over HTTP (PostgreSQL server)', {
    'customers / bills': `${customers} / ${posted.posted}`,
    'posts (10% retries)': payments,
    'concurrent clients': clients,
    'elapsed': `${(result.ms / 1000).toFixed(2)} s`,
    'throughput': `${Math.round(payments / (result.ms / 1000))} posts/s`,
    'HTTP statuses': JSON.stringify(result.statuses),
    'CPU per post: database / node (server + client)': `${dbCpu === null ? 'n/a' : (dbCpu * 1000 / payments).toFixed(3)} ms / ${((nodeCpu.user + nodeCpu.system) / 1000 / payments).toFixed(3)} ms`,
    'payments stored / expected': `${check.n} / ${unique}`,
    'sum stored / ledger / expected': `${check.total} / ${check.ledger} / ${check.expected}`,
    'payments over-allocated': check.allocated_over,
    'bills over-paid': check.dup_alloc,
    'accounts off balance': check.balance_gap,
    'integrity check': ok ? 'PASS (none lost, none doubled)' : 'FAIL',
  });
  if (result.errors.length) console.log('sample errors:', result.errors);
  await database.close();
  if (!ok) process.exitCode = 1;
}

await main();
