import { describe, expect, it } from 'vitest';
import { addDays } from '../platform/index.ts';
import { FaultIndex, parseFaultRates, randomFaults } from './concentrator-faults.ts';
import type { SimConcentrator } from './concentrator-fleet.ts';

// 2,000 concentrators of 10 meters each
const fleet: SimConcentrator[] = Array.from({ length: 2000 }, (_, c) => ({
  concentratorId: c + 1, areaCode: '2101', terminal: c + 1,
  meters: Array.from({ length: 10 }, (_, k) => ({ pn: k + 1, meterId: c * 10 + k + 1, category: 'residential' as const, concentratorId: c + 1 })),
}));
const faults = new FaultIndex(randomFaults(fleet, parseFaultRates('unreachable=0.01:3,offline=0.01:4'), 7, '2026-01-01'));
const days = Array.from({ length: 60 }, (_, i) => addDays('2026-01-01', i));
const out = (c: SimConcentrator, day: string) => c.meters.every((m) => faults.isUnreachable(m.meterId, day, m.concentratorId));

describe('the random fault plan over time', () => {
  it('takes about the share of concentrators out of service on any day, on every day of the window', () => {
    const shares = days.map((d) => fleet.filter((c) => out(c, d)).length / fleet.length);
    expect(Math.min(...shares)).toBeGreaterThan(0.002);
    expect(Math.max(...shares)).toBeLessThan(0.025);
    const mean = shares.reduce((a, b) => a + b, 0) / shares.length;
    expect(mean).toBeGreaterThan(0.007);
    expect(mean).toBeLessThan(0.013);
  });

  it('repairs a concentrator: its meters give data again once the outage is over', () => {
    const outages = fleet.flatMap((c) => days.slice(1).filter((d) => out(c, d) && !out(c, addDays(d, -1))).map((d) => ({ c, d })));
    expect(outages.length).toBeGreaterThan(50);
    // an outage lasts the repair delay, 4 days here, unless another one starts meanwhile
    const lengths = outages.map(({ c, d }) => { let n = 0; while (out(c, addDays(d, n))) n++; return n; });
    expect(lengths.filter((n) => n === 4).length / lengths.length).toBeGreaterThan(0.9);
  });

  it('takes meters out of reach in spells starting on any day, about the share asked for', () => {
    const meters = fleet.flatMap((c) => c.meters);
    const shares = days.map((d) => meters.filter((m) => faults.isUnreachable(m.meterId, d)).length / meters.length);
    const mean = shares.reduce((a, b) => a + b, 0) / shares.length;
    expect(mean).toBeGreaterThan(0.008);
    expect(mean).toBeLessThan(0.012);
  });
});
