/** IVR platform simulator: places no real calls; answers, then reports each call's outcome. */
import { VOICE_CALL_PATH, type VoiceOutcome } from '../voice-http.ts';
import { SignedProviderSimulator, type ProviderSimOptions } from './signed-provider.ts';

export type IvrSimulator = SignedProviderSimulator<VoiceOutcome>;
export type IvrOptions = ProviderSimOptions<VoiceOutcome>;

export function startIvr(options: IvrOptions = {}): Promise<IvrSimulator> {
  const sim = new SignedProviderSimulator<VoiceOutcome>(
    { name: 'ivr', path: VOICE_CALL_PATH, recipientField: 'to', fallback: 'answered' },
    options,
  );
  return sim.listen(options.port ?? 0);
}
