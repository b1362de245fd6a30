import { buildApp } from '../http/app.ts';
import { keepStatistics } from '../platform/index.ts';
import { openContext } from './context.ts';

/** Listen until SIGINT/SIGTERM, then close the server and the database cleanly. */
export async function serve(opts: { asOf?: string }): Promise<void> {
  const ctx = await openContext({ asOf: opts.asOf });
  const app = await buildApp(ctx);
  await app.listen({ port: ctx.config.port, host: ctx.config.host });
  const statistics = keepStatistics(ctx.db, { onError: (err) => ctx.log.warn({ err }, 'statistics not refreshed') });
  ctx.log.info(`ZeroTouch API and web app on http://localhost:${ctx.config.port} (${ctx.database.engine})`);
  await new Promise<void>((resolve) => {
    // Ctrl-C reaches both tsx and this process (and tsx relays it): later signals must not kill the clean stop
    process.on('SIGINT', () => resolve());
    process.on('SIGTERM', () => resolve());
  });
  await app.close();
  await statistics.stop();
  await ctx.database.close();
}
