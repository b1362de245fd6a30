import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../../platform/index.ts';

/** The work API, mounted under /api/v1. */
export const workRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (_app, { ctx: _ctx }) => {};
