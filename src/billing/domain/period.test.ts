import { describe, expect, it } from 'vitest';
import { addMonths, periodBounds, tierYearStart } from './period.ts';

describe('bill periods', () => {
  it('a period ends on its reading day and starts a month before', () => {
    expect(periodBounds(1, '2026-03')).toEqual({ period: '2026-03', start: '2026-02-01', end: '2026-03-01', days: 28 });
    expect(periodBounds(21, '2026-01')).toEqual({ period: '2026-01', start: '2025-12-21', end: '2026-01-21', days: 31 });
  });

  it('months shift across year ends', () => {
    expect(addMonths('2026-01', -1)).toBe('2025-12');
    expect(addMonths('2025-11', 14)).toBe('2027-01');
  });

  it('a tier year may start in any month', () => {
    expect(tierYearStart('2026-05', 1)).toBe('2026-01');
    expect(tierYearStart('2026-05', 7)).toBe('2025-07');
    expect(tierYearStart('2026-07', 7)).toBe('2026-07');
  });

  it('rejects a malformed period', () => {
    expect(() => periodBounds(1, '2026-13')).toThrow(/YYYY-MM/);
  });
});
