import { addDays, Rng, seedOf } from '../platform/index.ts';
import type { SimConcentrator } from './concentrator-fleet.ts';

/** What goes wrong in the simulated field; every entry names the meter or concentrator it hits. */
export interface SimFaults {
  /** Meters the concentrator cannot reach on `days` days from `from`: it answers EE (no data). */
  unreachable?: { meterId: number; from: string; days: number }[];
  /**
   * Meters dropping out now and then, all month long: on any day each meter starts a spell of `days`
   * days without data with probability `perDay` (drawn from the seed, the meter and the day), so about
   * perDay × days of the meters are unreachable on a day, and no list grows with the calendar.
   */
  unreachableSpells?: { perDay: number; days: number; seed: number };
  /** Concentrators that never connect. */
  offline?: number[];
  /**
   * Concentrators out of service now and then: on any day each one fails with probability `perDay`
   * (drawn from the seed, the concentrator and the day) and its meters give no data for `days` days, until
   * the collection-operations team has repaired it.
   */
  outageSpells?: { perDay: number; days: number; seed: number };
  /** Concentrators that log in, then drop the connection at the first data request. */
  dropping?: number[];
  /** Concentrators that log in and heartbeat but never answer a data request (a hung terminal). */
  mute?: number[];
  /** Meters whose clock is off: F161's meter-reading time shows the freeze this many minutes late (or early). */
  clockDrift?: { meterId: number; minutes: number }[];
  /** Meters whose registers step back by `kwh` from `from` on (e.g. a swapped or reset meter). */
  backwards?: { meterId: number; from: string; kwh: number }[];
  /** Share of reply frames sent with a flipped byte (bad checksum). */
  corruptRate?: number;
  /** Limit corruption to these concentrators (all when absent). */
  corruptConcentrators?: number[];
}

/** Fault rates for a random, seeded fault plan (`--faults unreachable=0.01:3,offline=0.005,…`). */
export interface FaultRates {
  /** Share of the meters unreachable on any day, in spells of `unreachableDays` days starting on any day. */
  unreachable?: number;
  unreachableDays?: number;
  /** Share of the concentrators out of service on any day, each outage lasting `offlineDays` days (the repair). */
  offline?: number;
  offlineDays?: number;
  dropping?: number;
  mute?: number;
  drift?: number;
  driftMinutes?: number;
  backwards?: number;
  backwardsKwh?: number;
  corrupt?: number;
}

export function parseFaultRates(spec: string | undefined): FaultRates {
  const rates: FaultRates = {};
  if (!spec) return rates;
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [name, value] = part.split('=');
    const [rate, extra] = (value ?? '').split(':').map(Number);
    if (rate === undefined || Number.isNaN(rate)) throw new Error(`--faults: "${part}" is not name=rate[:n]`);
    if (name === 'unreachable') Object.assign(rates, { unreachable: rate, unreachableDays: extra ?? 3 });
    else if (name === 'offline') Object.assign(rates, { offline: rate, offlineDays: extra ?? 3 });
    else if (name === 'drop') rates.dropping = rate;
    else if (name === 'mute') rates.mute = rate;
    else if (name === 'drift') Object.assign(rates, { drift: rate, driftMinutes: extra ?? 30 });
    else if (name === 'backwards') Object.assign(rates, { backwards: rate, backwardsKwh: extra ?? 50 });
    else if (name === 'corrupt') rates.corrupt = rate;
    else throw new Error(`--faults: unknown fault "${name}" (unreachable, offline, drop, mute, drift, backwards, corrupt)`);
  }
  return rates;
}

/** A fault plan drawn from rates, the same for the same seed and fleet. */
export function randomFaults(fleet: SimConcentrator[], rates: FaultRates, seed: number, from: string): SimFaults {
  const rng = new Rng(seedOf('faults', seed));
  const spellDays = rates.unreachableDays ?? 3;
  const outageDays = rates.offlineDays ?? 3;
  const f: Required<Omit<SimFaults, 'corruptConcentrators' | 'unreachableSpells' | 'outageSpells'>> & Pick<SimFaults, 'unreachableSpells' | 'outageSpells'> = {
    unreachable: [], offline: [], dropping: [], mute: [], clockDrift: [], backwards: [], corruptRate: rates.corrupt ?? 0,
    ...(rates.unreachable ? { unreachableSpells: { perDay: rates.unreachable / spellDays, days: spellDays, seed: seedOf('unreachable', seed) } } : {}),
    ...(rates.offline ? { outageSpells: { perDay: rates.offline / outageDays, days: outageDays, seed: seedOf('outage', seed) } } : {}),
  };
  for (const c of fleet) {
    if (rng.chance(rates.dropping ?? 0)) f.dropping.push(c.concentratorId);
    else if (rng.chance(rates.mute ?? 0)) f.mute.push(c.concentratorId);
    for (const m of c.meters) {
      if (rng.chance(rates.drift ?? 0)) f.clockDrift.push({ meterId: m.meterId, minutes: (rng.chance(0.5) ? 1 : -1) * (rates.driftMinutes ?? 30) });
      if (rng.chance(rates.backwards ?? 0)) f.backwards.push({ meterId: m.meterId, from, kwh: rates.backwardsKwh ?? 50 });
    }
  }
  return f;
}

/** The draw in [0, 1) that decides whether a spell starts for the meter (or concentrator) on the day (a day number): the same on every machine. */
const spellStarts = (seed: number, meterId: number, day: number) =>
  new Rng((seed ^ Math.imul(meterId, 0x9e3779b1) ^ Math.imul(day, 0x85ebca77)) >>> 0).next();

/** Fault lookups by id, built once per simulator. */
export class FaultIndex {
  private readonly unreachable = new Map<number, { from: string; days: number }[]>();
  private readonly drift = new Map<number, number>();
  private readonly backwards = new Map<number, { from: string; kwh: number }>();
  readonly offline: Set<number>;
  readonly dropping: Set<number>;
  readonly mute: Set<number>;
  private readonly corruptOnly: Set<number> | null;
  private readonly spells: SimFaults['unreachableSpells'];
  private readonly outages: SimFaults['outageSpells'];
  private spellDay = { day: '', n: 0 };

  constructor(readonly faults: SimFaults) {
    for (const u of faults.unreachable ?? []) this.unreachable.set(u.meterId, [...(this.unreachable.get(u.meterId) ?? []), u]);
    for (const d of faults.clockDrift ?? []) this.drift.set(d.meterId, d.minutes);
    for (const b of faults.backwards ?? []) this.backwards.set(b.meterId, b);
    this.offline = new Set(faults.offline ?? []);
    this.dropping = new Set(faults.dropping ?? []);
    this.mute = new Set(faults.mute ?? []);
    this.corruptOnly = faults.corruptConcentrators ? new Set(faults.corruptConcentrators) : null;
    this.spells = faults.unreachableSpells;
    this.outages = faults.outageSpells;
  }

  /** Whether the meter gives no data for `day`: out of reach itself, or its concentrator out of service. */
  isUnreachable(meterId: number, day: string, concentratorId?: number): boolean {
    const spells = this.unreachable.get(meterId);
    if (spells !== undefined && spells.some((u) => day >= u.from && day < addDays(u.from, u.days))) return true;
    return this.inSpell(this.spells, meterId, day) || (concentratorId !== undefined && this.inSpell(this.outages, concentratorId, day));
  }

  /** A spell that started on this day or on one of the days before it still holds. */
  private inSpell(spells: { perDay: number; days: number; seed: number } | undefined, id: number, day: string): boolean {
    if (!spells) return false;
    if (this.spellDay.day !== day) this.spellDay = { day, n: Date.parse(`${day}T00:00:00Z`) / 86_400_000 };
    for (let k = 0; k < spells.days; k++) if (spellStarts(spells.seed, id, this.spellDay.n - k) < spells.perDay) return true;
    return false;
  }

  driftMinutes(meterId: number): number {
    return this.drift.get(meterId) ?? 0;
  }

  /** Hundredths of a kWh the meter reads low on `day`. */
  backwardsHundredths(meterId: number, day: string): number {
    const b = this.backwards.get(meterId);
    return b && day >= b.from ? Math.round(b.kwh * 100) : 0;
  }

  corruptRateFor(concentratorId: number): number {
    if (this.corruptOnly && !this.corruptOnly.has(concentratorId)) return 0;
    return this.faults.corruptRate ?? 0;
  }
}
