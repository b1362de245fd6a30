/**
 * All four channel simulators on loopback, and the channels wired to them, so a test or the
 * demo needs two lines:
 *
 *   const sims = await startChannelSimulators();
 *   const channels = channelsFor(sims, 'http://127.0.0.1:3000/api/v1/channels/callbacks');
 */
import { randomBytes } from 'node:crypto';
import { createCatvChannel } from '../catv-http.ts';
import { createEmailChannel, type SmtpEmailChannel } from '../email-smtp.ts';
import type { SignedHttpChannel } from '../signed-http.ts';
import { createSmppChannel, type SmppChannel } from '../sms-smpp.ts';
import type { CallbackChannel, Channel, ChannelKind, ChannelLogger } from '../types.ts';
import { createVoiceChannel } from '../voice-http.ts';
import { startCatv, type CatvOptions, type CatvSimulator } from './catv.ts';
import { startIvr, type IvrOptions, type IvrSimulator } from './ivr.ts';
import { startSmsc, type SmscOptions, type SmscSimulator } from './smsc.ts';
import { startSmtp, type SmtpSimOptions, type SmtpSimulator, type SmtpWebhook } from './smtp.ts';

export interface ChannelSimulatorOptions {
  smsc?: SmscOptions;
  smtp?: Omit<SmtpSimOptions, 'webhook'>;
  ivr?: IvrOptions;
  catv?: CatvOptions;
}

/** Where the channels find the simulators, in this thread or in a worker (worker.ts). */
export interface ChannelEndpoints {
  smsc: { host: string; port: number; systemId: string; password: string };
  /** `configure` points the bounce webhook at our callback routes. */
  smtp: { host: string; port: number; configure(changes: { webhook: SmtpWebhook }): void };
  ivr: { url: string; secret: string };
  catv: { url: string; secret: string };
  /** Secret the SMTP simulator signs its bounce webhooks with. */
  smtpWebhookSecret: string;
}

export interface ChannelSimulators {
  smsc: SmscSimulator;
  smtp: SmtpSimulator;
  ivr: IvrSimulator;
  catv: CatvSimulator;
  /** Secret the SMTP simulator signs its bounce webhooks with. */
  smtpWebhookSecret: string;
  addresses: { smpp: string; smtp: string; ivr: string; catv: string };
  close(): Promise<void>;
}

/** What the simulators counted, and the idempotency keys the SMSC received more than once. */
export interface SimulatorCounters {
  smsc: SmscSimulator['stats'];
  duplicateSmsKeys: string[];
  smtp: SmtpSimulator['stats'];
  ivr: IvrSimulator['stats'];
  catv: CatvSimulator['stats'];
}

/** A copy of the counters, as the worker (worker.ts) sends them across. */
export function simulatorCounters(sims: ChannelSimulators): SimulatorCounters {
  return {
    smsc: { ...sims.smsc.stats }, duplicateSmsKeys: sims.smsc.duplicateKeys(), smtp: { ...sims.smtp.stats },
    ivr: { ...sims.ivr.stats }, catv: { ...sims.catv.stats },
  };
}

export async function startChannelSimulators(options: ChannelSimulatorOptions = {}): Promise<ChannelSimulators> {
  const secret = () => randomBytes(16).toString('hex');
  const started: Array<{ close(): Promise<void> }> = [];
  const track = async <T extends { close(): Promise<void> }>(starting: Promise<T>): Promise<T> => {
    const sim = await starting;
    started.push(sim);
    return sim;
  };
  let smsc: SmscSimulator, smtp: SmtpSimulator, ivr: IvrSimulator, catv: CatvSimulator;
  try {
    smsc = await track(startSmsc({ password: secret().slice(0, 8), ...options.smsc }));
    smtp = await track(startSmtp(options.smtp));
    ivr = await track(startIvr({ secret: secret(), ...options.ivr }));
    catv = await track(startCatv({ secret: secret(), ...options.catv }));
  } catch (err) {
    await Promise.all(started.map((sim) => sim.close()));
    throw err;
  }
  return {
    smsc,
    smtp,
    ivr,
    catv,
    smtpWebhookSecret: secret(),
    addresses: {
      smpp: smsc.url,
      smtp: `smtp://${smtp.host}:${smtp.port}`,
      ivr: ivr.url,
      catv: catv.url,
    },
    close: async () => {
      await Promise.all([smsc.close(), smtp.close(), ivr.close(), catv.close()]);
    },
  };
}

export interface ChannelSet {
  sms: SmppChannel;
  email: SmtpEmailChannel;
  voice: SignedHttpChannel;
  catv: SignedHttpChannel;
  all: Channel[];
  /** For channelCallbackRoutes(): the channels whose providers call us back. */
  callbackChannels: CallbackChannel[];
  byKind(kind: ChannelKind): Channel;
  close(): Promise<void>;
}

export interface ChannelSetOptions {
  now?: () => Date;
  logger?: ChannelLogger;
  /** SMS sender shown on the handset. Default 95598. */
  smsSourceAddr?: string;
  emailFrom?: string;
}

/**
 * Channels pointed at the simulators. `callbackBaseUrl` is where channelCallbackRoutes is
 * mounted (…/api/v1/channels/callbacks); the SMTP simulator's bounce webhook is set to it.
 */
export function channelsFor(sims: ChannelEndpoints, callbackBaseUrl: string, options: ChannelSetOptions = {}): ChannelSet {
  const base = callbackBaseUrl.replace(/\/+$/, '');
  const common = { ...(options.now ? { now: options.now } : {}), ...(options.logger ? { logger: options.logger } : {}) };
  sims.smtp.configure({ webhook: { url: `${base}/email`, secret: sims.smtpWebhookSecret } });
  const sms = createSmppChannel({
    host: sims.smsc.host,
    port: sims.smsc.port,
    systemId: sims.smsc.systemId,
    password: sims.smsc.password,
    sourceAddr: options.smsSourceAddr ?? '95598',
    ...common,
  });
  const email = createEmailChannel({
    host: sims.smtp.host,
    port: sims.smtp.port,
    from: options.emailFrom ?? '电费中心 <billing@power.example>',
    webhookSecret: sims.smtpWebhookSecret,
    ...common,
  });
  const voice = createVoiceChannel({ endpoint: sims.ivr.url, secret: sims.ivr.secret, callbackUrl: `${base}/voice`, ...common });
  const catv = createCatvChannel({ endpoint: sims.catv.url, secret: sims.catv.secret, callbackUrl: `${base}/catv`, ...common });
  const byKind: Record<ChannelKind, Channel> = { sms, email, voice, catv };
  return {
    sms,
    email,
    voice,
    catv,
    all: [sms, email, voice, catv],
    callbackChannels: [email, voice, catv],
    byKind: (kind) => byKind[kind],
    close: async () => {
      await Promise.all([sms.close(), email.close(), voice.close(), catv.close()]);
    },
  };
}
