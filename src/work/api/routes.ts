import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../../platform/index.ts';
import { tasksRoutes } from './tasks.routes.ts';
import { ordersRoutes } from './orders.routes.ts';
import { connectionsRoutes } from './connections.routes.ts';

/**
 * The work API, mounted under /api/v1. The assets plugin rides along here because src/http/plugins.ts
 * has no assets entry yet; it moves there when the lead wires it.
 */
export const workRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  await app.register(tasksRoutes, { ctx });
  await app.register(ordersRoutes, { ctx });
  await app.register(connectionsRoutes, { ctx });
};
