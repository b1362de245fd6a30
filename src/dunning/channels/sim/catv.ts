/** Cable operator simulator: shows nothing on a real set-top box; reports display outcomes. */
import { CATV_MESSAGE_PATH, type CatvOutcome } from '../catv-http.ts';
import { SignedProviderSimulator, type ProviderSimOptions } from './signed-provider.ts';

export type CatvSimulator = SignedProviderSimulator<CatvOutcome>;
export type CatvOptions = ProviderSimOptions<CatvOutcome>;

export function startCatv(options: CatvOptions = {}): Promise<CatvSimulator> {
  const sim = new SignedProviderSimulator<CatvOutcome>(
    { name: 'catv', path: CATV_MESSAGE_PATH, recipientField: 'account', fallback: 'delivered' },
    options,
  );
  return sim.listen(options.port ?? 0);
}
