import { addDays, isIsoDate } from '../../platform/index.ts';

/** Where money comes in: bank counter, bank withholding (代扣), online wallet, service hall, portal, grid manager on site. */
export const PAYMENT_CHANNELS = ['bank_counter', 'bank_withholding', 'online_wallet', 'service_hall', 'portal', 'grid_manager'] as const;
export type PaymentChannel = (typeof PAYMENT_CHANNELS)[number];

export interface PaymentInput {
  channel: PaymentChannel;
  reference: string;
  customerNumber: string;
  /** Exact decimal string, 2 decimals at most ('120.50'). */
  amount: string;
  /** Shanghai business date the money was paid (drives the late fee). */
  paidOn: string;
}

export interface Rejection {
  code: string;
  reason: string;
}

/** Canonical money string ('12.3' → '12.30'); null when not a positive amount with at most 2 decimals. */
export function parseAmount(s: string): string | null {
  const m = /^\s*(\d{1,12})(?:\.(\d{1,2}))?\s*$/.exec(s);
  if (!m) return null;
  const yuan = m[1]!.replace(/^0+(?=\d)/, '');
  return `${yuan}.${(m[2] ?? '').padEnd(2, '0')}`;
}

export function isPositiveAmount(canonical: string): boolean {
  return /[1-9]/.test(canonical);
}

/** Integer fen of a canonical amount, for exact sums in TS. */
export function toFen(canonical: string): bigint {
  const neg = canonical.startsWith('-');
  const [y, f = ''] = canonical.replace('-', '').split('.');
  const v = BigInt(y!) * 100n + BigInt(f.padEnd(2, '0').slice(0, 2) || '0');
  return neg ? -v : v;
}

export function fenToString(fen: bigint): string {
  const neg = fen < 0n;
  const a = neg ? -fen : fen;
  return `${neg ? '-' : ''}${a / 100n}.${String(a % 100n).padStart(2, '0')}`;
}

/**
 * Check a payment from any channel before it touches the database. Returns the normalised input or the
 * first rejection (code + reason). Unknown customers are found by the database, not here.
 */
export function validatePayment(raw: {
  channel?: unknown; reference?: unknown; customerNumber?: unknown; amount?: unknown; currency?: unknown; paidOn?: unknown;
}, today: string): PaymentInput | Rejection {
  const channel = String(raw.channel ?? '');
  if (!(PAYMENT_CHANNELS as readonly string[]).includes(channel)) return { code: 'PAYMENT_CHANNEL_UNKNOWN', reason: `unknown channel '${channel}'; one of ${PAYMENT_CHANNELS.join(', ')}` };
  const reference = String(raw.reference ?? '').trim();
  if (!reference || reference.length > 64) return { code: 'PAYMENT_REFERENCE_INVALID', reason: 'the channel reference must have 1 to 64 characters' };
  const customerNumber = String(raw.customerNumber ?? '').trim();
  if (!/^\d{10}$/.test(customerNumber)) return { code: 'PAYMENT_CUSTOMER_NUMBER_INVALID', reason: `a customer number has 10 digits: '${customerNumber}'` };
  const currency = String(raw.currency ?? '').trim();
  if (currency !== 'CNY') return { code: 'PAYMENT_CURRENCY_NOT_CNY', reason: `only CNY is accepted, got '${currency}'` };
  const amountText = String(raw.amount ?? '');
  if (/^\s*-/.test(amountText)) return { code: 'PAYMENT_AMOUNT_NOT_POSITIVE', reason: `the amount must be positive, got ${amountText}` };
  const amount = parseAmount(amountText);
  if (amount === null) return { code: 'PAYMENT_AMOUNT_INVALID', reason: `the amount must be a decimal string with at most 2 decimals, got '${amountText}'` };
  if (!isPositiveAmount(amount)) return { code: 'PAYMENT_AMOUNT_NOT_POSITIVE', reason: `the amount must be positive, got ${amountText}` };
  const paidOn = raw.paidOn === undefined || raw.paidOn === null || raw.paidOn === '' ? today : String(raw.paidOn);
  if (!isIsoDate(paidOn)) return { code: 'PAYMENT_DATE_INVALID', reason: `paidOn must be a date YYYY-MM-DD, got '${paidOn}'` };
  if (paidOn > today) return { code: 'PAYMENT_DATE_IN_FUTURE', reason: `paidOn ${paidOn} is after today (${today})` };
  return { channel: channel as PaymentChannel, reference, customerNumber, amount, paidOn };
}

/** Most days before today a payment may be dated, by channel; '*' for a channel without an entry of its own. */
export type BackdatingWindow = ReadonlyMap<string, number>;

/**
 * The rejection of a payment dated further back than its channel's window allows (PAYMENT_DATE_TOO_OLD),
 * or null. The date sets the late fee and the day the allocations count from, so it is bounded below as
 * it is above (PAYMENT_DATE_IN_FUTURE).
 */
export function backdatingRejection(p: PaymentInput, today: string, window: BackdatingWindow): Rejection | null {
  const days = window.get(p.channel) ?? window.get('*');
  if (days === undefined) return null;
  const earliest = addDays(today, -days);
  if (p.paidOn >= earliest) return null;
  return {
    code: 'PAYMENT_DATE_TOO_OLD',
    reason: `paidOn ${p.paidOn} is more than ${days} days before today (${today}): a ${p.channel} payment is dated ${earliest} or later; ` +
      'check the date, or have an administrator widen the channel\'s window (payment_date_policy)',
  };
}

export function isRejection(x: PaymentInput | Rejection): x is Rejection {
  return 'code' in x;
}
