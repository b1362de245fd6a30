import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { CHANNEL_ROUTES_PREFIX, channelCallbackRoutes } from './callback-routes.ts';
import { createCatvChannel } from './catv-http.ts';
import { parseRetryAfter, signBody, signedHeaders, verifySignature, type SignedHttpChannel } from './signed-http.ts';
import { startCatv } from './sim/catv.ts';
import { startIvr } from './sim/ivr.ts';
import { createVoiceChannel } from './voice-http.ts';
import type { CallbackChannel, DeliveryReport, OutboundMessage } from './types.ts';

const open: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const resource of open.splice(0).reverse()) await resource.close();
});

/** A listening app whose callback routes look channels up in `registry`, filled afterwards. */
async function callbackServer(): Promise<{ app: FastifyInstance; baseUrl: string; registry: Map<string, CallbackChannel> }> {
  const registry = new Map<string, CallbackChannel>();
  const app = Fastify();
  await app.register(channelCallbackRoutes((kind) => registry.get(kind)), { prefix: CHANNEL_ROUTES_PREFIX });
  await app.listen({ port: 0, host: '127.0.0.1' });
  open.push(app);
  const { port } = app.server.address() as { port: number };
  return { app, registry, baseUrl: `http://127.0.0.1:${port}${CHANNEL_ROUTES_PREFIX}/callbacks` };
}

function collect(channel: SignedHttpChannel): DeliveryReport[] {
  const reports: DeliveryReport[] = [];
  channel.onReport((r) => reports.push(r));
  return reports;
}

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const call = (key: string, to: string): OutboundMessage => ({ messageKey: key, channel: 'voice', to, text: '您的电费已逾期，请尽快缴纳。' });

/** A provider on node:http answering as the test says; records when each request arrived, and its key. */
async function scriptedProvider(answer: (n: number, res: ServerResponse) => void) {
  const arrivals: { at: number; key: string }[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      arrivals.push({ at: performance.now(), key: String(req.headers['idempotency-key']) });
      answer(arrivals.length, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  open.push({ close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, arrivals };
}

const json = (res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}) =>
  void res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

function warningsOf(): { logger: { info(): void; warn(entry: object): void }; warnings: Array<Record<string, unknown>> } {
  const warnings: Array<Record<string, unknown>> = [];
  return { warnings, logger: { info: () => undefined, warn: (entry) => void warnings.push(entry as Record<string, unknown>) } };
}

describe('request signatures', () => {
  const secret = 'shared-secret';
  const at = new Date('2024-07-01T08:00:00Z');
  const body = '{"providerMessageId":"ivr-1","outcome":"answered"}';

  it('accepts a body signed with the shared secret within the tolerance', () => {
    const headers = signedHeaders(secret, body, at);
    expect(headers['x-zt-timestamp']).toBe('1719820800');
    expect(headers['x-zt-signature']).toBe(`v1=${signBody(secret, '1719820800', body)}`);
    expect(verifySignature(secret, headers, body, new Date('2024-07-01T08:04:00Z'))).toEqual({ ok: true });
  });

  it('refuses a changed body, a wrong secret, a missing header and a stale timestamp', () => {
    const headers = signedHeaders(secret, body, at);
    const code = (h: Record<string, string>, b: string, now = at, s = secret) => {
      const check = verifySignature(s, h, b, now);
      return check.ok ? 'ok' : check.code;
    };
    expect(code(headers, body.replace('answered', 'busy'))).toBe('CHANNEL_SIGNATURE_INVALID');
    expect(code(headers, body, at, 'other-secret')).toBe('CHANNEL_SIGNATURE_INVALID');
    expect(code({ 'x-zt-timestamp': headers['x-zt-timestamp']! }, body)).toBe('CHANNEL_SIGNATURE_MISSING');
    expect(code(headers, body, new Date('2024-07-01T08:06:00Z'))).toBe('CHANNEL_SIGNATURE_EXPIRED');
  });
});

describe('voice calls through the IVR simulator', () => {
  it('places calls and turns signed callbacks into answered / busy / no_answer reports', async () => {
    const { registry, baseUrl } = await callbackServer();
    const ivr = await startIvr({ rules: { byNumber: { '13800000002': 'busy' }, byPrefix: [{ prefix: '139', outcome: 'no_answer' }] } });
    open.push(ivr);
    // A simulated business clock stamps the reports; signatures still use real time.
    const businessNow = new Date('2030-01-15T02:00:00Z');
    const voice = createVoiceChannel({ endpoint: ivr.url, secret: ivr.secret, callbackUrl: `${baseUrl}/voice`, now: () => businessNow });
    registry.set('voice', voice);
    const reports = collect(voice);

    const results = await voice.send([call('n1', '13800000001'), call('n2', '13800000002'), call('n3', '13900000003')]);
    await until(() => reports.length === 3);

    expect(results.every((r) => r.accepted && r.providerMessageId?.startsWith('ivr-'))).toBe(true);
    const stateByKey = Object.fromEntries(reports.map((r) => [r.messageKey, r.state]));
    expect(stateByKey).toEqual({ n1: 'answered', n2: 'busy', n3: 'no_answer' });
    expect(reports.find((r) => r.messageKey === 'n2')!.providerMessageId).toBe(results[1]!.providerMessageId);
    expect(ivr.requests[0]!.body).toMatchObject({ to: '13800000001', script: '您的电费已逾期，请尽快缴纳。', language: 'zh-CN' });
    expect(ivr.callbacks.every((c) => c.status === 204)).toBe(true);
    expect(reports.every((r) => r.at.getTime() === businessNow.getTime())).toBe(true);
  });

  it('rejects a callback with a bad signature with 401 and reports nothing', async () => {
    const { app, registry, baseUrl } = await callbackServer();
    const ivr = await startIvr({ callbackSecret: 'not-the-shared-secret' });
    open.push(ivr);
    const voice = createVoiceChannel({ endpoint: ivr.url, secret: ivr.secret, callbackUrl: `${baseUrl}/voice` });
    registry.set('voice', voice);
    const reports = collect(voice);

    await voice.send([call('n1', '13800000001')]);
    await until(() => ivr.callbacks.length === 1);
    expect(ivr.callbacks[0]!.status).toBe(401);

    const body = JSON.stringify({ providerMessageId: 'ivr-x', outcome: 'answered' });
    const forged = await app.inject({
      method: 'POST',
      url: `${CHANNEL_ROUTES_PREFIX}/callbacks/voice`,
      headers: signedHeaders('guessed-secret', body, new Date()),
      payload: body,
    });
    expect(forged.statusCode).toBe(401);
    expect(forged.json()).toMatchObject({ code: 'CHANNEL_SIGNATURE_INVALID' });
    expect(reports).toEqual([]);
  });

  it('answers 400 for an unknown outcome and 404 for an unknown channel', async () => {
    const { app, registry } = await callbackServer();
    const voice = createVoiceChannel({ endpoint: 'http://127.0.0.1:1', secret: 's', callbackUrl: 'http://unused' });
    registry.set('voice', voice);
    const body = JSON.stringify({ providerMessageId: 'ivr-1', outcome: 'hung_up' });
    const headers = signedHeaders('s', body, new Date());

    const unknownOutcome = await app.inject({ method: 'POST', url: `${CHANNEL_ROUTES_PREFIX}/callbacks/voice`, headers, payload: body });
    const unknownChannel = await app.inject({ method: 'POST', url: `${CHANNEL_ROUTES_PREFIX}/callbacks/fax`, headers, payload: body });

    expect(unknownOutcome.statusCode).toBe(400);
    expect(unknownOutcome.json().code).toBe('CHANNEL_CALLBACK_MALFORMED');
    expect(unknownChannel.statusCode).toBe(404);
  });

  it('answers 400 with a stable code, and reports nothing, for a signed body that is JSON but not an object', async () => {
    const { app, registry } = await callbackServer();
    const voice = createVoiceChannel({ endpoint: 'http://127.0.0.1:1', secret: 's', callbackUrl: 'http://unused' });
    registry.set('voice', voice);
    const reports = collect(voice);
    for (const body of ['null', '[]', '7', '"answered"']) {
      const response = await app.inject({ method: 'POST', url: `${CHANNEL_ROUTES_PREFIX}/callbacks/voice`, headers: signedHeaders('s', body, new Date()), payload: body });
      expect([body, response.statusCode, response.json().code]).toEqual([body, 400, 'CHANNEL_CALLBACK_MALFORMED']);
    }
    expect(reports).toEqual([]);
  });

  it('fails retryably, not against the customer\'s number, when the provider refuses our signature', async () => {
    const ivr = await startIvr();
    open.push(ivr);
    const voice = createVoiceChannel({ endpoint: ivr.url, secret: 'wrong', callbackUrl: 'http://127.0.0.1:1/cb' });
    const [result] = await voice.send([call('n1', '13800000001')]);
    // our credentials are wrong, not the number: a permanent failure would count towards its verification task
    expect(result!.error).toMatchObject({ code: 'HTTP_401', permanent: false });
    expect(result!.error!.message).toContain('CHANNEL_SIGNATURE_INVALID');
    expect(ivr.stats.refusedSignature).toBe(1);
  });

  it('fails retryably when the provider is unreachable', async () => {
    const ivr = await startIvr();
    const endpoint = ivr.url;
    await ivr.close();
    const voice = createVoiceChannel({ endpoint, secret: ivr.secret, callbackUrl: 'http://127.0.0.1:1/cb' });
    const [result] = await voice.send([call('n1', '13800000001')]);
    expect(result!.error).toMatchObject({ code: 'CHANNEL_UNAVAILABLE', permanent: false });
  });

  it('fails retryably, as a timeout, when the provider holds the request', async () => {
    const silent = createServer(() => undefined); // reads the request, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    open.push({ close: () => new Promise<void>((r) => { silent.closeAllConnections(); silent.close(() => r()); }) });
    const voice = createVoiceChannel({ endpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, secret: 's', callbackUrl: 'http://127.0.0.1:1/cb', timeoutMs: 200 });
    open.push(voice);
    const [result] = await voice.send([call('n1', '13800000001')]);
    expect(result!.error).toMatchObject({ code: 'CHANNEL_TIMEOUT', permanent: false });
  });

  it('sends again on a new connection when the provider drops the kept-alive one it was reused on', async () => {
    // answers the first request of each connection; drops the connection on the second, unanswered,
    // as a provider closing an idle connection at the moment we write to it
    let requests = 0;
    const seen = new WeakMap<object, number>();
    const closing = createServer((req, res) => {
      requests++;
      const n = (seen.get(req.socket) ?? 0) + 1;
      seen.set(req.socket, n);
      if (n > 1) return void req.socket.destroy();
      req.resume();
      req.on('end', () => res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `p${requests}` })));
    });
    await new Promise<void>((r) => closing.listen(0, '127.0.0.1', r));
    open.push({ close: () => new Promise<void>((r) => { closing.closeAllConnections(); closing.close(() => r()); }) });
    const voice = createVoiceChannel({ endpoint: `http://127.0.0.1:${(closing.address() as AddressInfo).port}`, secret: 's', callbackUrl: 'http://127.0.0.1:1/cb', concurrency: 1 });
    open.push(voice);
    const [first] = await voice.send([call('n1', '13800000001')]);
    const [second] = await voice.send([call('n2', '13800000002')]);
    expect([first!.accepted, second!.accepted]).toEqual([true, true]);
    expect([requests, second!.providerMessageId]).toEqual([3, 'p3']);
  });

  it('sends a messageKey once however often it is handed over', async () => {
    const ivr = await startIvr({ callbackDelayMs: 10_000 });
    open.push(ivr);
    const voice = createVoiceChannel({ endpoint: ivr.url, secret: ivr.secret, callbackUrl: 'http://127.0.0.1:1/cb' });
    const first = await voice.send([call('n1', '13800000001'), call('n1', '13800000001')]);
    const again = await voice.send([call('n1', '13800000001')]);
    expect(again[0]).toEqual(first[0]);
    expect(first[1]).toEqual(first[0]);
    expect(ivr.countByKey('n1')).toBe(1);
  });
});

describe('Retry-After from a provider that is busy (429) or down for a while (503)', () => {
  it('reads delay-seconds and the three HTTP-date forms against the given clock, and nothing else', () => {
    const now = new Date('1994-11-06T08:49:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now)).toBe(37_000);
    expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(37_000);
    expect(parseRetryAfter('Sun Nov  6 08:49:37 1994', now)).toBe(37_000);
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:48:00 GMT', now)).toBe(0);
    expect([parseRetryAfter('soon', now), parseRetryAfter('-5', now), parseRetryAfter('', now), parseRetryAfter(undefined, now)]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('waits out a 429 Retry-After in seconds, holding the channel\'s other calls meanwhile, then places both', async () => {
    const provider = await scriptedProvider((n, res) =>
      n === 1 ? json(res, 429, { code: 'RATE_LIMITED', message: 'slow down' }, { 'retry-after': '1' }) : json(res, 202, { id: `p${n}` }));
    const { logger, warnings } = warningsOf();
    const voice = createVoiceChannel({ endpoint: provider.url, secret: 's', callbackUrl: 'http://127.0.0.1:1/cb', logger });
    open.push(voice);
    const first = voice.send([call('n1', '13800000001')]);
    await until(() => warnings.some((w) => w.code === 'CHANNEL_RETRY_AFTER'));
    const second = voice.send([call('n2', '13800000002')]);
    const [[one], [two]] = await Promise.all([first, second]);

    expect([one!.accepted, two!.accepted]).toEqual([true, true]);
    const [refused, ...later] = provider.arrivals;
    expect(later.map((a) => a.key).sort()).toEqual(['n1', 'n2']);
    expect(later.every((a) => a.at - refused!.at >= 950)).toBe(true);
  });

  it('reads a 503 Retry-After HTTP-date against the injected wall clock', async () => {
    const provider = await scriptedProvider((n, res) =>
      n === 1 ? json(res, 503, { code: 'MAINTENANCE', message: 'back soon' }, { 'retry-after': 'Tue, 01 Jan 2030 00:00:01 GMT' }) : json(res, 202, { id: 'p2' }));
    const wall = new Date('2030-01-01T00:00:00Z');
    const voice = createVoiceChannel({ endpoint: provider.url, secret: 's', callbackUrl: 'http://127.0.0.1:1/cb', wallClock: () => wall });
    open.push(voice);
    const [result] = await voice.send([call('n1', '13800000001')]);
    expect(result).toMatchObject({ accepted: true, providerMessageId: 'p2' });
    expect(provider.arrivals[1]!.at - provider.arrivals[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('fails at once, retryably and with the pause, while a long Retry-After runs, and sends the provider nothing meanwhile', async () => {
    const provider = await scriptedProvider((_n, res) => json(res, 429, { code: 'RATE_LIMITED', message: 'come back in an hour' }, { 'retry-after': '3600' }));
    const catv = createCatvChannel({ endpoint: provider.url, secret: 's', callbackUrl: 'http://127.0.0.1:1/cb' });
    open.push(catv);
    const [first] = await catv.send([{ messageKey: 'c1', channel: 'catv', to: 'STB0001', text: '您的电费已出账' }]);
    const [second] = await catv.send([{ messageKey: 'c2', channel: 'catv', to: 'STB0002', text: '您的电费已出账' }]);

    // an hour is cut to the channel's longest pause, 10 minutes by default
    expect(first!.error).toMatchObject({ code: 'HTTP_429', permanent: false, retryAfterMs: 600_000 });
    expect(second!.error).toMatchObject({ code: 'CHANNEL_RETRY_AFTER', permanent: false });
    expect(second!.error!.retryAfterMs).toBeGreaterThan(590_000);
    expect(provider.arrivals.map((a) => a.key)).toEqual(['c1']);
  });

  it('cuts a Retry-After far ahead to the channel\'s longest pause, then sends again', async () => {
    const provider = await scriptedProvider((n, res) =>
      n === 1 ? json(res, 429, { code: 'RATE_LIMITED', message: 'tomorrow' }, { 'retry-after': '86400' }) : json(res, 202, { id: 'p2' }));
    const voice = createVoiceChannel({ endpoint: provider.url, secret: 's', callbackUrl: 'http://127.0.0.1:1/cb', retryAfterMaxMs: 300 });
    open.push(voice);
    const [result] = await voice.send([call('n1', '13800000001')]);
    expect(result).toMatchObject({ accepted: true, providerMessageId: 'p2' });
    const gap = provider.arrivals[1]!.at - provider.arrivals[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(280);
    expect(gap).toBeLessThan(5_000);
  });
});

describe('cable-TV messages through the operator simulator', () => {
  it('reports delivered and failed set-top messages from signed callbacks', async () => {
    const { registry, baseUrl } = await callbackServer();
    const catvSim = await startCatv({ rules: { byPrefix: [{ prefix: 'OFF', outcome: 'failed' }] } });
    open.push(catvSim);
    const catv = createCatvChannel({ endpoint: catvSim.url, secret: catvSim.secret, callbackUrl: `${baseUrl}/catv` });
    registry.set('catv', catv);
    const reports = collect(catv);

    const results = await catv.send([
      { messageKey: 'c1', channel: 'catv', to: 'STB0001', subject: '电费提醒', text: '您的电费已出账' },
      { messageKey: 'c2', channel: 'catv', to: 'OFF0002', subject: '电费提醒', text: '您的电费已出账' },
      { messageKey: 'c3', channel: 'catv', to: 'no such box!', text: 'x' },
    ]);
    await until(() => reports.length === 2);

    expect(results.map((r) => r.accepted)).toEqual([true, true, false]);
    expect(results[2]!.error).toMatchObject({ code: 'CHANNEL_INVALID_RECIPIENT', permanent: true });
    expect(Object.fromEntries(reports.map((r) => [r.messageKey, r.state]))).toEqual({ c1: 'delivered', c2: 'failed' });
    expect(catvSim.requests[0]!.body).toMatchObject({ account: 'STB0001', title: '电费提醒', text: '您的电费已出账' });
  });

  it('draws outcomes from a seeded ratio, the same on every run', async () => {
    const a = await startCatv({ seed: 7, rules: { ratios: { delivered: 0.8, failed: 0.2 } } });
    const b = await startCatv({ seed: 7, rules: { ratios: { delivered: 0.8, failed: 0.2 } } });
    open.push(a, b);
    const draws = (sim: typeof a) => Array.from({ length: 500 }, (_, i) => sim.outcomeFor(`STB${i}`));
    const first = draws(a);
    expect(draws(b)).toEqual(first);
    const failed = first.filter((o) => o === 'failed').length;
    expect(failed).toBeGreaterThan(70);
    expect(failed).toBeLessThan(130);
  });
});
