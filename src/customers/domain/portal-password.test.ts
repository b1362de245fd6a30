import { describe, expect, it } from 'vitest';
import { generatePortalPassword, PORTAL_PASSWORD_LENGTH } from './portal-password.ts';

describe('portal passwords staff issue', () => {
  it('are 12 unambiguous letters and digits, different each time', () => {
    const seen = new Set(Array.from({ length: 200 }, generatePortalPassword));
    expect(seen.size).toBe(200);
    for (const p of seen) expect(p).toMatch(new RegExp(`^[A-HJKMNP-Za-hjkmnp-z2-9]{${PORTAL_PASSWORD_LENGTH}}$`));
  });
});
