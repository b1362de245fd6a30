import { AppError } from '../../platform/index.ts';
import type { ContactKind, NoticeChannel } from '../store/customers.repository.ts';

const PATTERNS: Record<ContactKind, RegExp> = {
  // mainland mobile: 11 digits starting with 1
  mobile: /^1[3-9]\d{9}$/,
  landline: /^0\d{2,3}-?\d{7,8}$/,
  email: /^[^\s@]+@[^\s@]+\.[^\s@]+$/,
  catv: /^[0-9A-Z]{8,16}$/,
};

/** Reject a malformed contact with a stable code before anything is stored. */
export function validateContact(kind: ContactKind, value: string): string {
  const v = value.trim();
  if (!PATTERNS[kind]) throw new AppError('CUSTOMER_CONTACT_KIND', `unknown contact kind ${kind}`);
  if (!PATTERNS[kind].test(v)) throw new AppError('CUSTOMER_CONTACT_INVALID', `not a valid ${kind}: ${value}`);
  return v;
}

/** Which contact kinds can carry each notice channel. */
export const CHANNEL_CONTACT_KINDS: Record<NoticeChannel, ContactKind[]> = {
  sms: ['mobile'],
  voice: ['mobile', 'landline'],
  email: ['email'],
  catv: ['catv'],
};
