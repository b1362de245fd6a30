import { sql } from 'kysely';
import type { AppContext } from '../platform/index.ts';

/** The page served at / when the web app has not been built: what is running, in plain HTML. */
export async function statusPage(ctx: AppContext): Promise<string> {
  const counts = await sql<{ customers: number; meters: number; orgs: number }>`
    SELECT (SELECT count(*) FROM customer)::int AS customers, (SELECT count(*) FROM meter)::int AS meters,
           (SELECT count(*) FROM org_unit)::int AS orgs`.execute(ctx.db);
  const c = counts.rows[0]!;
  return `<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>ZeroTouch</title></head>
<body style="font-family:sans-serif;max-width:720px;margin:2rem auto">
<h1>ZeroTouch 零接触</h1>
<p>Meter-to-cash for the demo province: no manual meter reading, no manual dunning.</p>
<ul>
<li>Database: ${ctx.database.engine}</li>
<li>Customers: ${c.customers.toLocaleString('en')}, meters: ${c.meters.toLocaleString('en')}, org units: ${c.orgs}</li>
<li>Business time: ${ctx.clock.now().toISOString()}</li>
</ul>
<p>API: <a href="/api/v1/health">/api/v1/health</a> · OpenAPI: <a href="/docs">/docs</a></p>
<p>The web app is not built yet: run <code>npm run build:web</code>.</p>
</body></html>`;
}
