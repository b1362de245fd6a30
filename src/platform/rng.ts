/** Deterministic pseudo-random numbers (mulberry32): same seed, same sequence, on every machine. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, maxInclusive: number): number {
    return min + Math.floor(this.next() * (maxInclusive - min + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** FNV-1a over the code points of `s` (a surrogate pair counts once, by its high half), from state `h`. */
function fnv(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h = Math.imul(h ^ c, 16777619);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const low = s.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) i++;
    }
  }
  return h;
}

/** A stable hash of a string into a seed. */
export function seedOf(...parts: (string | number)[]): number {
  return fnv(2166136261, parts.join('|')) >>> 0;
}

/**
 * seedOf(...prefix, ...rest) for many `rest` after one fixed prefix, without rebuilding the string:
 * the hash state after the prefix is kept (hot loops: a seed per meter and day).
 */
export function seedOfPrefix(...prefix: (string | number)[]): (...rest: (string | number)[]) => number {
  const h0 = fnv(2166136261, `${prefix.join('|')}|`);
  return (...rest) => fnv(h0, rest.join('|')) >>> 0;
}
