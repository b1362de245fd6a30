import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../../platform/index.ts';

/** The metering API, mounted under /api/v1. */
export const meteringRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (_app, { ctx: _ctx }) => {};
