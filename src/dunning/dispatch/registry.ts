import type { AppContext } from '../../platform/index.ts';
import type { CallbackChannel, Channel } from '../channels/index.ts';

/**
 * Which running dispatcher's channels take provider callbacks for an app: the HTTP routes are built
 * before the channels exist (their callback URL needs the app's port), so they look them up here.
 */
const byDatabase = new WeakMap<object, Map<string, CallbackChannel>>();

function isCallbackChannel(c: Channel): c is CallbackChannel {
  return typeof (c as Partial<CallbackChannel>).handleCallback === 'function';
}

export function registerCallbackChannels(ctx: AppContext, channels: readonly Channel[]): () => void {
  const map = byDatabase.get(ctx.db) ?? new Map<string, CallbackChannel>();
  byDatabase.set(ctx.db, map);
  const mine = channels.filter(isCallbackChannel);
  for (const c of mine) map.set(c.kind, c);
  return () => {
    for (const c of mine) if (map.get(c.kind) === c) map.delete(c.kind);
  };
}

export function callbackChannelFor(ctx: AppContext, kind: string): CallbackChannel | undefined {
  return byDatabase.get(ctx.db)?.get(kind);
}
