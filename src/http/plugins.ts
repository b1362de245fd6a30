import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../platform/index.ts';
import { orgRoutes } from '../org/index.ts';
import { customersRoutes } from '../customers/index.ts';

/** Each context's API plugin, mounted under /api/v1 (a prefix narrows it further). */
export const apiPlugins: { plugin: FastifyPluginAsync<{ ctx: AppContext }>; prefix?: string }[] = [
  { plugin: orgRoutes },
  { plugin: customersRoutes },
];
