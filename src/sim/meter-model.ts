import { addDays, Rng, seedOf, seedOfPrefix } from '../platform/index.ts';

/**
 * A deterministic model of what a meter's registers say on any day: daily consumption with a
 * seasonal and weekly shape per customer category, cumulative totals that only grow, and four
 * tariff registers (尖 峰 平 谷) that sum exactly to the total. Everything is a closed form of
 * (seed, meter, day), so the simulator and a test compute the same value without shared state.
 */

export type MeterCategory = 'residential' | 'general' | 'large_industry' | 'agriculture';

export interface MeterProfile {
  meterId: number;
  category: MeterCategory;
}

/** Registers in hundredths of a kWh (exact integers); strings for the wire and the store. */
export interface MeterRegisters {
  total: string;
  sharp: string;
  peak: string;
  flat: string;
  valley: string;
}

interface CategoryShape {
  /** Mean kWh per day. Large industry reads the CT secondary side, so its register grows slowly. */
  meanKwh: number;
  /** Extra share of consumption in the coldest (heating) and hottest weeks. */
  winter: number;
  summer: number;
  /** Weekend level relative to weekdays. */
  weekend: number;
  /** Tariff shares of 尖 峰 平; 谷 takes the rest, so the four always sum to the total. */
  split: [number, number, number];
}

const SHAPES: Record<MeterCategory, CategoryShape> = {
  // Liaoning households: electric heating supplements make January the peak, July a smaller one
  residential: { meanKwh: 7.5, winter: 0.5, summer: 0.2, weekend: 1.1, split: [0.06, 0.3, 0.32] },
  general: { meanKwh: 55, winter: 0.3, summer: 0.35, weekend: 0.65, split: [0.1, 0.38, 0.3] },
  large_industry: { meanKwh: 260, winter: 0.1, summer: 0.1, weekend: 0.85, split: [0.08, 0.32, 0.3] },
  agriculture: { meanKwh: 22, winter: -0.5, summer: 0.9, weekend: 1, split: [0.05, 0.3, 0.35] },
};

/** Day 0 of the model; every register starts from a per-meter base here. */
const EPOCH = Date.parse('2024-01-01T00:00:00Z');
/** A.14 registers hold 999999.9999 kWh and roll over like a real meter's. */
const ROLLOVER = 100_000_000;

let lastDay = '';
let lastIndex = 0;
export function dayIndex(day: string): number {
  // a simulator asks for one day for hundreds of thousands of meters in a row
  if (day !== lastDay) {
    lastIndex = Math.round((Date.parse(`${day}T00:00:00Z`) - EPOCH) / 86_400_000);
    lastDay = day;
  }
  return lastIndex;
}

function shapeOf(shape: CategoryShape, index: number): number {
  const dayOfYear = ((index % 365) + 365) % 365;
  // cos peaks on 15 January (heating) and dips mid-July; the summer bump peaks in late July
  const heating = Math.max(0, Math.cos(((dayOfYear - 14) / 365) * 2 * Math.PI));
  const cooling = Math.max(0, Math.cos(((dayOfYear - 205) / 365) * 4 * Math.PI)) * (dayOfYear > 150 && dayOfYear < 260 ? 1 : 0);
  const weekday = (((index + 1) % 7) + 7) % 7; // 2024-01-01 was a Monday → 0 = Monday
  const weekend = weekday >= 5 ? shape.weekend : 1;
  return Math.max(0.05, 1 + shape.winter * heating + shape.summer * cooling) * weekend;
}

/** Prefix sums of the category shape (hundredths of the mean), grown on demand. */
const prefix = new Map<MeterCategory, number[]>();
function cumulativeShape(category: MeterCategory, index: number): number {
  let p = prefix.get(category);
  if (!p) prefix.set(category, (p = [0]));
  while (p.length <= index + 1) p.push(p[p.length - 1]! + shapeOf(SHAPES[category], p.length - 1));
  return p[Math.max(0, index + 1)]!;
}

interface MeterTraits {
  base: number;
  scale: number;
  jitter: number;
}

/** Per seed and category, the traits of each meter id (numeric keys: no string per lookup). */
const traitCache = new Map<string, Map<number, MeterTraits>>();
let cachedTraits = 0;
function traits(seed: number, m: MeterProfile): MeterTraits {
  const group = `${seed}:${m.category}`;
  let byMeter = traitCache.get(group);
  if (!byMeter) traitCache.set(group, (byMeter = new Map()));
  let t = byMeter.get(m.meterId);
  if (!t) {
    const rng = new Rng(seedOf('meter-model', seed, m.meterId));
    const mean = SHAPES[m.category].meanKwh;
    // households differ: 0.6× to 1.75× the category mean (residential lands at ~5-15 kWh/day)
    const scale = mean * (0.6 + rng.next() * 1.15) * 100;
    t = { base: Math.floor(rng.next() * 30_000 * 100), scale, jitter: scale * 0.05 };
    if (++cachedTraits > 2_000_000) {
      for (const g of traitCache.values()) g.clear();
      cachedTraits = 1;
    }
    byMeter.set(m.meterId, t);
  }
  return t;
}

/**
 * Cumulative total at the end of `day` (what the meter freezes at the next 00:00), in hundredths
 * of a kWh before rollover. The day-to-day noise j(d) ∈ [0, 0.05·scale) telescopes, so a day's
 * consumption is scale·shape(d) + j(d) − j(d−1), and every shape is ≥ 0.5: never negative.
 */
const daySeeds = new Map<number, (...rest: (string | number)[]) => number>();
export function cumulativeHundredths(seed: number, m: MeterProfile, day: string): number {
  const t = traits(seed, m);
  const i = dayIndex(day);
  let daySeed = daySeeds.get(seed);
  if (!daySeed) daySeeds.set(seed, (daySeed = seedOfPrefix('meter-day', seed)));
  const noise = new Rng(daySeed(m.meterId, i)).next() * t.jitter;
  return Math.floor(t.base + t.scale * cumulativeShape(m.category, i) + noise);
}

function kwh(hundredths: number): string {
  const v = ((hundredths % ROLLOVER) + ROLLOVER) % ROLLOVER;
  return `${Math.floor(v / 100)}.${String(v % 100).padStart(2, '0')}`;
}

/** Split a cumulative total into 尖 峰 平 谷 by the category's shares; each is monotone in the total. */
export function splitRegisters(category: MeterCategory, totalHundredths: number): MeterRegisters {
  const [s, p, f] = SHAPES[category].split;
  const sharp = Math.floor(totalHundredths * s);
  const peak = Math.floor(totalHundredths * p);
  const flat = Math.floor(totalHundredths * f);
  return { total: kwh(totalHundredths), sharp: kwh(sharp), peak: kwh(peak), flat: kwh(flat), valley: kwh(totalHundredths - sharp - peak - flat) };
}

/** The daily frozen registers of `day` (frozen at 00:00 after it). */
export function dailyFrozenRegisters(seed: number, m: MeterProfile, day: string): MeterRegisters {
  return splitRegisters(m.category, cumulativeHundredths(seed, m, day));
}

/** Registers right now (AFN 0C F129): the last freeze plus the share of today's use so far. */
export function currentRegisters(seed: number, m: MeterProfile, day: string, fractionOfDay: number): MeterRegisters {
  const before = cumulativeHundredths(seed, m, addDays(day, -1));
  const after = cumulativeHundredths(seed, m, day);
  return splitRegisters(m.category, before + Math.floor((after - before) * Math.min(1, Math.max(0, fractionOfDay))));
}

/** kWh used on `day` (exact string), for checks and demos. */
export function dailyConsumption(seed: number, m: MeterProfile, day: string): string {
  return kwh(cumulativeHundredths(seed, m, day) - cumulativeHundredths(seed, m, addDays(day, -1)));
}
