import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../../platform/index.ts';

/** The monitoring API, mounted under /api/v1. */
export const monitoringRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (_app, { ctx: _ctx }) => {};
