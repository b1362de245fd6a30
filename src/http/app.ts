import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type RouteOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fastifyStatic from '@fastify/static';
import { isAppError, principalForToken, type AppContext, type Principal } from '../platform/index.ts';
import { toHttpError } from './errors.ts';
import { apiPlugins } from './plugins.ts';
import { statusPage } from './status-page.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Route needs no token (login, health, signed channel callbacks). */
    public?: boolean;
  }
}

const WEB_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/dist');

/** Builds the HTTP app; `server.ts`/the CLI listens, tests call `app.inject()`. */
export async function buildApp(ctx: AppContext, opts: {
  extraPlugins?: { plugin: FastifyPluginAsync<{ ctx: AppContext }>; prefix?: string }[];
  /** Called for every route as it is added (the route-table audit test lists them with it). */
  onRoute?: (route: RouteOptions) => void;
} = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false, bodyLimit: 64 * 1024 * 1024, ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false } },
    // a URL the router cannot read gets the same { code, message } answer as every other refusal
    frameworkErrors: (err, _req, reply) => {
      const e = toHttpError(err);
      void (reply as FastifyReply).status(e.status).send({ code: e.code, message: e.message });
    },
  });

  if (opts.onRoute) app.addHook('onRoute', opts.onRoute);
  await app.register(swagger, {
    openapi: {
      info: { title: 'ZeroTouch API', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (req) => {
    // the route the router matched, not the raw URL: '/%61pi/v1/...' reaches an /api/ route too
    if (!req.routeOptions.url?.startsWith('/api/')) return;
    const auth = req.headers.authorization;
    const isPublic = req.routeOptions.config?.public === true;
    if (auth?.startsWith('Bearer ')) {
      try {
        req.principal = await principalForToken(ctx.db, auth.slice(7).trim());
      } catch (e) {
        // a refused token (AUTH_ACCOUNT_INACTIVE) is answered as such, except where no token is needed (a new login)
        if (!isPublic || !isAppError(e)) throw e;
      }
    }
    if (!req.principal && !isPublic) {
      throw Object.assign(new Error('sign in first: send Authorization: Bearer <token>'), { statusCode: 401, code: 'AUTH_REQUIRED' });
    }
  });

  app.setErrorHandler((err, req, reply) => {
    const e = toHttpError(err);
    if (e.fault) ctx.log.error({ err, url: req.url }, 'unhandled error');
    // the database refused a value: the caller's, almost always; kept in the log in case it was stored data
    else if (e.code === 'REQUEST_VALUE_OUT_OF_RANGE') ctx.log.warn({ err, url: req.url }, 'value refused by the database');
    return reply.status(e.status).send({ code: e.code, message: e.message, details: e.details });
  });
  app.setNotFoundHandler((req, reply) => {
    if (req.url.startsWith('/api/')) return reply.status(404).send({ code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` });
    if (fs.existsSync(path.join(WEB_DIST, 'index.html'))) return reply.type('text/html').sendFile('index.html');
    return reply.status(404).send({ code: 'NOT_FOUND', message: 'not found' });
  });

  await app.register(async (api) => {
    api.get('/health', { config: { public: true }, schema: { tags: ['platform'] } }, async () => ({
      status: 'ok',
      engine: ctx.database.engine,
      time: ctx.clock.now().toISOString(),
    }));
    for (const { plugin, prefix } of [...apiPlugins, ...(opts.extraPlugins ?? [])]) await api.register(plugin, { ctx, prefix });
  }, { prefix: '/api/v1' });

  if (fs.existsSync(path.join(WEB_DIST, 'index.html'))) {
    await app.register(fastifyStatic, { root: WEB_DIST, wildcard: false });
  } else {
    app.get('/', async (_req, reply) => reply.type('text/html').send(await statusPage(ctx)));
  }
  return app;
}
