import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../../platform/index.ts';

/** The billing API, mounted under /api/v1. */
export const billingRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (_app, { ctx: _ctx }) => {};
