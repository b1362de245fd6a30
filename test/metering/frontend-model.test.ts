import { describe, expect, it } from 'vitest';
import { FrameReader, clockDriftSeconds } from '../../src/metering/frontend/index.ts';
import { encodeDailyFrozenEnergyRequest, encodeGdw1376LinkCheck } from '../../src/metering/protocols/index.ts';
import { addDays } from '../../src/platform/index.ts';
import { corruptFrame } from '../../src/sim/concentrator-answers.ts';
import { dailyConsumption, dailyFrozenRegisters, type MeterProfile } from '../../src/sim/meter-model.ts';

const address = { areaCode: '2104', terminal: 17, msa: 0, group: false };
const hundredths = (kwh: string) => Math.round(Number(kwh) * 100);

describe('front-end framing', () => {
  it('cuts frames split across chunks, reports a corrupted frame with its code and keeps reading after it', () => {
    const login = encodeGdw1376LinkCheck('login', address, 1);
    const bad = corruptFrame(encodeGdw1376LinkCheck('heartbeat', address, 2), 0.5);
    const request = encodeDailyFrozenEnergyRequest({ address, seq: 3, pns: [1, 2, 9], date: '2026-01-14' });
    const stream = Buffer.concat([Buffer.from([0x00, 0x11]), login, bad, request]);
    const reader = new FrameReader();
    const first = reader.push(stream.subarray(0, 25));
    const second = reader.push(stream.subarray(25));
    expect(first.frames).toHaveLength(1);
    expect([...first.errors, ...second.errors].map((e) => e.code)).toEqual(['GDW1376_BAD_START', 'GDW1376_BAD_CHECKSUM']);
    expect(second.frames.map((f) => f.seq.seq)).toEqual([3]);
    expect(reader.pending).toBe(0);
  });

  it('reads clock drift off the meter-reading time of a daily frozen reply', () => {
    expect(clockDriftSeconds('2026-01-14', '2026-01-15 00:00')).toBe(0);
    expect(clockDriftSeconds('2026-01-14', '2026-01-15 00:20')).toBe(1200);
    expect(clockDriftSeconds('2026-01-31', '2026-01-31 23:50')).toBe(-600);
    expect(clockDriftSeconds('2026-01-14', null)).toBeNull();
  });
});

describe('meter model', () => {
  const households: MeterProfile[] = Array.from({ length: 200 }, (_, i) => ({ meterId: i + 1, category: 'residential' }));

  it('is deterministic and its totals only grow, with tariff registers summing to the total every day', () => {
    for (const m of households.slice(0, 20)) {
      let previous = -1;
      for (let day = '2025-10-01'; day <= '2026-03-31'; day = addDays(day, 1)) {
        const r = dailyFrozenRegisters(3, m, day);
        expect(dailyFrozenRegisters(3, m, day)).toEqual(r);
        const total = hundredths(r.total);
        expect(total).toBeGreaterThan(previous);
        expect(hundredths(r.sharp) + hundredths(r.peak) + hundredths(r.flat) + hundredths(r.valley)).toBe(total);
        previous = total;
      }
    }
  });

  it('households use ~5-15 kWh a day with a Liaoning heating peak in winter; businesses use more', () => {
    const mean = (ms: MeterProfile[], days: string[]) =>
      ms.reduce((a, m) => a + days.reduce((b, d) => b + Number(dailyConsumption(5, m, d)), 0), 0) / (ms.length * days.length);
    const week = (from: string) => Array.from({ length: 7 }, (_, i) => addDays(from, i));
    const january = mean(households, week('2026-01-12'));
    const april = mean(households, week('2026-04-13'));
    expect(april).toBeGreaterThan(5);
    expect(january).toBeLessThan(15);
    expect(january).toBeGreaterThan(april * 1.3);
    const shops: MeterProfile[] = households.slice(0, 50).map((m) => ({ ...m, category: 'general' }));
    expect(mean(shops, week('2026-04-13'))).toBeGreaterThan(april * 3);
  });
});
