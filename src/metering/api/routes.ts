import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../../platform/index.ts';
import { readingsRoutes } from './readings.routes.ts';
import { meteringMonitoringRoutes } from './monitoring.routes.ts';

/** The metering API, mounted under /api/v1. */
export const meteringRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  await app.register(readingsRoutes, { ctx });
  await app.register(meteringMonitoringRoutes, { ctx });
};
