import { AppError, issueToken, type Db } from '../../platform/index.ts';
import { PAYMENT_CHANNELS } from '../domain/payment-input.ts';

/** An API token for a channel integration (bank, wallet): role payment_channel, may post on that channel only. */
export async function issueChannelToken(db: Db, channel: string): Promise<string> {
  const i = (PAYMENT_CHANNELS as readonly string[]).indexOf(channel);
  if (i < 0) throw new AppError('PAYMENT_CHANNEL_UNKNOWN', `unknown channel ${channel}; one of ${PAYMENT_CHANNELS.join(', ')}`);
  return issueToken(db, { kind: 'system', id: i + 1, name: channel, role: 'payment_channel', orgId: null, orgPath: '/' });
}
