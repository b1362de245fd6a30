import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';
import type { BackdatingWindow } from '../domain/payment-input.ts';

/** How many days back each channel may date a payment (table payment_date_policy; '*' for the others). */
export async function loadBackdatingWindow(db: Db): Promise<BackdatingWindow> {
  const r = await sql<{ channel: string; max_backdated_days: number }>`SELECT channel, max_backdated_days FROM payment_date_policy`.execute(db);
  return new Map(r.rows.map((x) => [x.channel, Number(x.max_backdated_days)]));
}
