import { describe, it, expect } from 'vitest';
import { validateContact } from './contacts.ts';

describe('contact validation', () => {
  it('accepts a mainland mobile and an email', () => {
    expect(validateContact('mobile', ' 13812345678 ')).toBe('13812345678');
    expect(validateContact('email', 'li.wei@example.cn')).toBe('li.wei@example.cn');
  });
  it('rejects a malformed mobile with a stable code', () => {
    expect(() => validateContact('mobile', '2381234567')).toThrowError(expect.objectContaining({ code: 'CUSTOMER_CONTACT_INVALID' }));
  });
});
