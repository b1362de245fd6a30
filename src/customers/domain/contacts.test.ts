import { describe, it, expect } from 'vitest';
import { validateContact } from './contacts.ts';

const refused = (kind: Parameters<typeof validateContact>[0], value: string) =>
  expect(() => validateContact(kind, value), value).toThrowError(expect.objectContaining({ code: 'CUSTOMER_CONTACT_INVALID' }));

describe('contact validation', () => {
  it('accepts a mainland mobile and an email', () => {
    expect(validateContact('mobile', ' 13812345678 ')).toBe('13812345678');
    expect(validateContact('email', 'li.wei@example.cn')).toBe('li.wei@example.cn');
  });
  it('rejects a malformed mobile with a stable code', () => {
    refused('mobile', '2381234567');
    refused('mobile', '12812345678');
    refused('mobile', '138123456789');
    refused('mobile', '+1 13812345678');
  });
  it('stores a mobile written with +86, spaces or hyphens as its 11 digits', () => {
    expect(validateContact('mobile', '+86 138-1234-5678')).toBe('13812345678');
    expect(validateContact('mobile', '0086 13812345678')).toBe('13812345678');
    expect(validateContact('mobile', '138 1234 5678')).toBe('13812345678');
  });
  it('rejects an email that is not an address', () => {
    for (const bad of ['li..wei@example.cn', '.li@example.cn', 'li.@example.cn', 'li@example..cn', 'li@example.cn.', 'li@-example.cn', 'li@example.c', 'li@@example.cn', 'li wei@example.cn', 'li@example', `${'a'.repeat(65)}@example.cn`]) refused('email', bad);
  });
  it('keeps the local part of an email and lower-cases its domain', () => {
    expect(validateContact('email', 'Li.Wei@Example.CN')).toBe('Li.Wei@example.cn');
    expect(validateContact('email', 'li+bill@mail.example.com.cn')).toBe('li+bill@mail.example.com.cn');
  });
});
