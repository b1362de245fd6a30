/**
 * Cable-TV set-top message (有线电视机顶盒消息) through the cable operator's signed HTTP API:
 * the operator shows the notice on the customer's set-top box and calls back once the box
 * has displayed it (delivered) or the operator gave up (failed).
 */
import { SignedHttpChannel, type ProviderProfile, type SignedHttpChannelOptions } from './signed-http.ts';

export type CatvOutcome = 'delivered' | 'failed';
export const CATV_OUTCOMES: readonly CatvOutcome[] = ['delivered', 'failed'];

export interface CatvChannelOptions extends SignedHttpChannelOptions {
  /** Seconds the message stays on screen. Default 30. */
  displaySeconds?: number;
}

export const CATV_MESSAGE_PATH = '/v1/messages';

export function createCatvChannel(options: CatvChannelOptions): SignedHttpChannel {
  const profile: ProviderProfile = {
    kind: 'catv',
    path: CATV_MESSAGE_PATH,
    // The operator's subscriber account or smart-card number.
    validateRecipient: (to) => (/^[A-Za-z0-9-]{4,32}$/.test(to) ? undefined : `not a set-top account: ${to}`),
    requestBody: (message, callbackUrl) => ({
      messageKey: message.messageKey,
      account: message.to,
      title: message.subject ?? '',
      text: message.text,
      displaySeconds: options.displaySeconds ?? 30,
      callbackUrl,
    }),
    outcomes: { delivered: 'delivered', failed: 'failed' },
  };
  return new SignedHttpChannel(profile, options);
}
