/**
 * Channel layer of the dunning context: SMS (SMPP 3.4), email (SMTP), voice (IVR) and
 * cable-TV behind one Channel interface, the provider-callback routes, the notice templates,
 * and loopback simulators for tests and the demo.
 */
export type {
  CallbackChannel,
  CallbackHeaders,
  CallbackVerdict,
  Channel,
  ChannelKind,
  ChannelLogger,
  DeliveryReport,
  DeliveryState,
  OutboundMessage,
  ReportListener,
  SendError,
  SendResult,
} from './types.ts';

export { SmppChannel, createSmppChannel, type SmppBindMode, type SmppChannelOptions } from './sms-smpp.ts';
export { SmtpEmailChannel, createEmailChannel, type EmailChannelOptions } from './email-smtp.ts';
export { createVoiceChannel, VOICE_OUTCOMES, type VoiceChannelOptions, type VoiceOutcome } from './voice-http.ts';
export { createCatvChannel, CATV_OUTCOMES, type CatvChannelOptions, type CatvOutcome } from './catv-http.ts';
export {
  SignedHttpChannel,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  signBody,
  signedHeaders,
  verifySignature,
  type SignedHttpChannelOptions,
  type SignatureCheck,
} from './signed-http.ts';
export { CHANNEL_ROUTES_PREFIX, channelCallbackRoutes } from './callback-routes.ts';

export { NOTICE_STEPS, renderNotice, type NoticeFields, type NoticeLocale, type NoticeStep, type RenderedNotice } from './templates.ts';
export {
  NoticeFormatError,
  PAY_CHANNEL_LABELS,
  formatYuan,
  maskCustomerNumber,
  maskName,
  toFen,
  type Amount,
} from './notice-format.ts';

export {
  channelsFor,
  startChannelSimulators,
  type ChannelSet,
  type ChannelSetOptions,
  type ChannelSimulatorOptions,
  simulatorCounters,
  type ChannelEndpoints,
  type ChannelSimulators,
  type SimulatorCounters,
} from './sim/index.ts';
export { startSmsc, type SmscFaults, type SmscOptions, type SmscSimulator } from './sim/smsc.ts';
export { startChannelSimulatorsWorker, type ChannelSimulatorsWorker } from './sim/worker.ts';
export { startSmtp, type SmtpFaults, type SmtpSimOptions, type SmtpSimulator } from './sim/smtp.ts';
export { startIvr, type IvrOptions, type IvrSimulator } from './sim/ivr.ts';
export { startCatv, type CatvOptions, type CatvSimulator } from './sim/catv.ts';
export type { OutcomeRules, SignedProviderSimulator } from './sim/signed-provider.ts';
