import { countCustomers } from '../customers/index.ts';
import { seedProvince } from '../sim/seed.ts';
import { serve } from './serve.ts';
import { openContext } from './context.ts';

export const DEMO_CUSTOMERS = 20_000;

/** The main job: migrate, seed the demo province when the database is empty, then serve. */
export async function start(opts: { customers: number; seed: number }): Promise<void> {
  const ctx = await openContext();
  try {
    if ((await countCustomers(ctx.db)) === 0) {
      ctx.log.info(`seeding the demo province (${opts.customers} customers)…`);
      const r = await seedProvince(ctx.database, { customers: opts.customers, seed: opts.seed, since: '2025-01-01' });
      ctx.log.info(`seeded ${r.customers} customers in ${r.ms} ms`);
    }
  } finally {
    await ctx.database.close();
  }
  await serve({});
}
