import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../../platform/index.ts';

/** The payments API, mounted under /api/v1. */
export const paymentsRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (_app, { ctx: _ctx }) => {};
