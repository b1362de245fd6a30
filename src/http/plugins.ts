import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../platform/index.ts';
import { orgRoutes } from '../org/index.ts';
import { customersRoutes } from '../customers/index.ts';
import { assetsRoutes } from '../assets/index.ts';
import { meteringRoutes } from '../metering/index.ts';
import { billingRoutes } from '../billing/index.ts';
import { paymentsRoutes } from '../payments/index.ts';
import { dunningRoutes } from '../dunning/index.ts';
import { workRoutes } from '../work/index.ts';
import { monitoringRoutes } from '../monitoring/index.ts';

/** Each context's API plugin, mounted under /api/v1 (a prefix narrows it further). */
export const apiPlugins: { plugin: FastifyPluginAsync<{ ctx: AppContext }>; prefix?: string }[] = [
  { plugin: orgRoutes },
  { plugin: customersRoutes },
  { plugin: assetsRoutes },
  { plugin: meteringRoutes },
  { plugin: billingRoutes },
  { plugin: paymentsRoutes },
  { plugin: dunningRoutes },
  { plugin: workRoutes },
  { plugin: monitoringRoutes },
];
