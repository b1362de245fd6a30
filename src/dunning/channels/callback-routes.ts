/**
 * Fastify plugin for provider callbacks: POST /callbacks/:channel, registered under
 * CHANNEL_ROUTES_PREFIX, so providers call /api/v1/channels/callbacks/voice (or catv, email).
 * The raw body is kept for the signature check, so this plugin parses JSON itself.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { CallbackChannel, CallbackHeaders } from './types.ts';

export const CHANNEL_ROUTES_PREFIX = '/api/v1/channels';

/**
 * `channels` is a list, or a lookup by kind for an app that starts listening before its
 * channels exist (their callback URL needs the app's port).
 */
export function channelCallbackRoutes(
  channels: Iterable<CallbackChannel> | ((kind: string) => CallbackChannel | undefined),
): FastifyPluginAsync {
  const lookup = typeof channels === 'function' ? channels : byKind(channels);

  return async (app) => {
    // Encapsulated: the string parser applies to this plugin's routes only.
    app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => {
      done(null, body);
    });

    app.post<{ Params: { channel: string }; Body: string }>('/callbacks/:channel', async (request, reply) => {
      const channel = lookup(request.params.channel);
      if (!channel) {
        return reply.code(404).send({ code: 'CHANNEL_UNKNOWN', message: `no callback channel '${request.params.channel}'` });
      }
      const rawBody = typeof request.body === 'string' ? request.body : '';
      const verdict = channel.handleCallback(request.headers as CallbackHeaders, rawBody);
      if (!verdict.ok) return reply.code(verdict.status).send({ code: verdict.code, message: verdict.message });
      return reply.code(204).send();
    });
  };
}

function byKind(channels: Iterable<CallbackChannel>): (kind: string) => CallbackChannel | undefined {
  const map = new Map<string, CallbackChannel>();
  for (const channel of channels) map.set(channel.kind, channel);
  return (kind) => map.get(kind);
}
