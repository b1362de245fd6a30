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

  it('a failed verification leads to verify_failed, which can only be re-verified or scrapped', () => {
    const s = nextMeterState('arrived', 'verified', 'fail');
    expect(s).toBe('verify_failed');
    expect(() => nextMeterState(s, 'in_stock')).toThrow(expect.objectContaining({ code: 'ASSET_TRANSITION_REFUSED' }));
    expect(nextMeterState(s, 'verified', 'pass')).toBe('verified');
    expect(nextMeterState(s, 'scrapped')).toBe('scrapped');
  });

  it('allows exactly the lifecycle transitions and refuses every other one', () => {
    const allowed: Record<string, string> = {
      'arrived verified:pass': 'verified', 'arrived verified:fail': 'verify_failed', 'arrived scrapped': 'scrapped',
      'verified in_stock': 'in_stock',
      'verify_failed verified:pass': 'verified', 'verify_failed verified:fail': 'verify_failed', 'verify_failed scrapped': 'scrapped',
      'in_stock dispatched': 'dispatched', 'in_stock installed': 'installed',
      'dispatched in_stock': 'in_stock', 'dispatched installed': 'installed',
      'installed removed': 'removed',
      'removed verified:pass': 'verified', 'removed verified:fail': 'verify_failed', 'removed scrapped': 'scrapped',
    };
    const states = ['arrived', 'verified', 'verify_failed', 'in_stock', 'dispatched', 'installed', 'removed', 'scrapped'] as const;
    const events = [['verified', 'pass'], ['verified', 'fail'], ['in_stock'], ['dispatched'], ['installed'], ['removed'], ['scrapped']] as const;
    for (const from of states) {
      for (const [event, result] of events) {
        const key = `${from} ${event}${result ? `:${result}` : ''}`;
        if (allowed[key]) expect(nextMeterState(from, event, result), key).toBe(allowed[key]);
        else expect(() => nextMeterState(from, event, result), key).toThrow(expect.objectContaining({ code: 'ASSET_TRANSITION_REFUSED', status: 409 }));
      }
    }
  });

  it('only a verification carries a result', () => {
    expect(() => nextMeterState('verified', 'in_stock', 'pass')).toThrow(expect.objectContaining({ code: 'ASSET_EVENT_INVALID', status: 400 }));
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
    // as PostgreSQL computes it for the rotation-due list: 29 February runs to 28 February in a common year
    expect(rotationDueOn('2016-02-29', 10)).toBe('2026-02-28');
  });
});
