import { AppError } from '../../platform/index.ts';
import type { ContactKind, NoticeChannel } from '../store/customers.repository.ts';

const PATTERNS: Record<ContactKind, RegExp> = {
  // mainland mobile: 11 digits starting with 1
  mobile: /^1[3-9]\d{9}$/,
  landline: /^0\d{2,3}-?\d{7,8}$/,
  // local part: dot-separated atoms (no leading, trailing or double dot); domain: labels of letters,
  // digits and inner hyphens, ending in a top-level domain of letters
  email: /^(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?=.{1,253}$)([\p{L}\p{N}]([\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+\p{L}{2,63}$/u,
  catv: /^[0-9A-Z]{8,16}$/,
};

/** The contact as people write it, in the one form it is stored and compared in. */
function normalize(kind: ContactKind, value: string): string {
  const v = value.trim();
  switch (kind) {
    // "+86 138-0000-1111", "0086 13800001111" and "138 0000 1111" are all the same mobile
    case 'mobile': return v.replace(/[\s-]/g, '').replace(/^(\+86|0086|86)(?=1\d{10}$)/, '');
    case 'landline': return v.replace(/\s/g, '');
    // the domain of an address is case-insensitive
    case 'email': { const at = v.lastIndexOf('@'); return at < 0 ? v : v.slice(0, at) + v.slice(at).toLowerCase(); }
    case 'catv': return v.replace(/\s/g, '').toUpperCase();
    default: return v;
  }
}

/** Reject a malformed contact with a stable code before anything is stored; returns the stored form. */
export function validateContact(kind: ContactKind, value: string): string {
  if (!PATTERNS[kind]) throw new AppError('CUSTOMER_CONTACT_KIND', `unknown contact kind ${kind}`);
  const v = normalize(kind, value);
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
