import crypto from 'node:crypto';

/** Letters and digits a customer reads off a slip or hears on the phone without mixing them up (no 0/O, 1/l/I). */
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789';
export const PORTAL_PASSWORD_LENGTH = 12;

/** A one-time portal password (门户初始密码) staff hand to a customer: 12 characters, ~68 bits from the OS's CSPRNG. */
export function generatePortalPassword(): string {
  let out = '';
  for (let i = 0; i < PORTAL_PASSWORD_LENGTH; i++) out += ALPHABET[crypto.randomInt(ALPHABET.length)];
  return out;
}
