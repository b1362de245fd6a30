/**
 * Automated voice call (语音外呼) through the IVR platform's signed HTTP API: the platform
 * reads the notice text to the customer (TTS) and calls back with the call's outcome.
 */
import { SignedHttpChannel, type ProviderProfile, type SignedHttpChannelOptions } from './signed-http.ts';

export type VoiceOutcome = 'answered' | 'no_answer' | 'busy' | 'failed';
export const VOICE_OUTCOMES: readonly VoiceOutcome[] = ['answered', 'no_answer', 'busy', 'failed'];

export interface VoiceChannelOptions extends SignedHttpChannelOptions {
  /** TTS language, default zh-CN. */
  language?: string;
  /** Caller number shown to the customer, e.g. 95598. */
  callerId?: string;
  /** How many times the platform repeats the script within one call. Default 2. */
  repeat?: number;
}

export const VOICE_CALL_PATH = '/v1/calls';

export function createVoiceChannel(options: VoiceChannelOptions): SignedHttpChannel {
  const profile: ProviderProfile = {
    kind: 'voice',
    path: VOICE_CALL_PATH,
    validateRecipient: (to) => (/^\+?\d{5,20}$/.test(to.replace(/[\s-]/g, '')) ? undefined : `not a phone number: ${to}`),
    requestBody: (message, callbackUrl) => ({
      messageKey: message.messageKey,
      to: message.to.replace(/[\s-]/g, ''),
      callerId: options.callerId ?? '95598',
      language: options.language ?? 'zh-CN',
      script: message.text,
      repeat: options.repeat ?? 2,
      callbackUrl,
    }),
    outcomes: { answered: 'answered', no_answer: 'no_answer', busy: 'busy', failed: 'failed' },
  };
  return new SignedHttpChannel(profile, options);
}
