import { describe, expect, it } from 'vitest';
import { nextOrderStatus, orderClock, validateSatisfaction } from './order-flow.ts';

describe('95598 order flow', () => {
  it('a repair arrives before it resolves; other kinds resolve directly', () => {
    expect(nextOrderStatus('fault_repair', 'dispatched', 'arrive')).toBe('arrived');
    expect(() => nextOrderStatus('fault_repair', 'dispatched', 'resolve')).toThrow(expect.objectContaining({ code: 'ORDER_TRANSITION_REFUSED' }));
    expect(nextOrderStatus('complaint', 'dispatched', 'resolve')).toBe('resolved');
    expect(() => nextOrderStatus('complaint', 'dispatched', 'arrive')).toThrow(expect.objectContaining({ code: 'ORDER_TRANSITION_REFUSED' }));
  });

  it('closing twice is refused', () => {
    expect(nextOrderStatus('opinion', 'resolved', 'close')).toBe('closed');
    expect(() => nextOrderStatus('opinion', 'closed', 'close')).toThrow(expect.objectContaining({ code: 'ORDER_TRANSITION_REFUSED' }));
  });

  it('satisfaction is 1 to 5', () => {
    expect(validateSatisfaction(5)).toBe(5);
    for (const bad of [0, 6, 2.5, '4']) expect(() => validateSatisfaction(bad)).toThrow(expect.objectContaining({ code: 'ORDER_SATISFACTION_INVALID' }));
  });

  it('a repair clock runs to the arrival limit first, then to restoration', () => {
    const received = new Date('2026-03-02T10:00:00+08:00');
    const o = { kind: 'fault_repair', status: 'dispatched', arrival_due_at: new Date(received.getTime() + 45 * 60_000), arrived_at: null, due_at: new Date(received.getTime() + 180 * 60_000), resolved_at: null };
    expect(orderClock(o, new Date(received.getTime() + 30 * 60_000))).toMatchObject({ remainingMinutes: 15, overdue: false });
    expect(orderClock(o, new Date(received.getTime() + 50 * 60_000))).toMatchObject({ overdue: true });
    const arrived = { ...o, status: 'arrived', arrived_at: new Date(received.getTime() + 40 * 60_000) };
    expect(orderClock(arrived, new Date(received.getTime() + 50 * 60_000))).toMatchObject({ remainingMinutes: 130, overdue: false, arrivalOnTime: true });
  });
});
