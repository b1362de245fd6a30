import { describe, expect, it } from 'vitest';
import { nextMeterState, rotationDueOn } from './meter-lifecycle.ts';

describe('meter lifecycle', () => {
  it('walks arrived → verified → in stock → dispatched → installed → removed → scrapped', () => {
    let s = nextMeterState(null, 'arrived');
    s = nextMeterState(s, 'verified', 'pass');
    s = nextMeterState(s, 'in_stock');
    s = nextMeterState(s, 'dispatched');
    s = nextMeterState(s, 'installed');
    s = nextMeterState(s, 'removed');
    expect(nextMeterState(s, 'scrapped')).toBe('scrapped');
  });

  it('a failed verification leads to verify_failed, which can only be scrapped', () => {
    const s = nextMeterState('arrived', 'verified', 'fail');
    expect(s).toBe('verify_failed');
    expect(() => nextMeterState(s, 'in_stock')).toThrow(expect.objectContaining({ code: 'ASSET_TRANSITION_REFUSED' }));
  });

  it('refuses installing a meter that is not in stock or dispatched', () => {
    for (const s of ['arrived', 'verified', 'installed', 'removed', 'scrapped'] as const) {
      expect(() => nextMeterState(s, 'installed')).toThrow(expect.objectContaining({ code: 'ASSET_TRANSITION_REFUSED' }));
    }
    expect(nextMeterState('in_stock', 'installed')).toBe('installed');
  });

  it('a verification without a result is refused', () => {
    expect(() => nextMeterState('arrived', 'verified')).toThrow(expect.objectContaining({ code: 'ASSET_EVENT_INVALID' }));
  });

  it('rotation falls due the given number of years after the install date', () => {
    expect(rotationDueOn('2018-03-15', 8)).toBe('2026-03-15');
    expect(rotationDueOn('2016-02-29', 8)).toBe('2024-02-29');
  });
});
