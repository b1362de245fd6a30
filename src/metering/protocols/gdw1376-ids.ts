import { ProtocolError } from './errors.ts';

/**
 * Data-unit identifiers: DA names measuring points (pn = (DA2 − 1) × 8 + bit + 1, DA = 00 00 is
 * p0, the terminal itself) and DT names information items (Fn = DT2 × 8 + bit + 1). One DA/DT
 * pair can name up to eight of each, within one group.
 */

/** DA → pn list; null when the pair is not a valid measuring-point set. */
export function decodeDa(da1: number, da2: number): number[] | null {
  if (da2 === 0) return da1 === 0 ? [0] : null;
  const pns: number[] = [];
  for (let bit = 0; bit < 8; bit++) if (da1 & (1 << bit)) pns.push((da2 - 1) * 8 + bit + 1);
  return pns.length > 0 ? pns : null;
}

/** DT → Fn list; null when empty or past F248. */
export function decodeDt(dt1: number, dt2: number): number[] | null {
  if (dt2 > 30) return null;
  const fns: number[] = [];
  for (let bit = 0; bit < 8; bit++) if (dt1 & (1 << bit)) fns.push(dt2 * 8 + bit + 1);
  return fns.length > 0 ? fns : null;
}

export function decodeDataUnitId(da1: number, da2: number, dt1: number, dt2: number): { pn: number[]; fn: number[] } | null {
  const pn = decodeDa(da1, da2);
  const fn = decodeDt(dt1, dt2);
  return pn && fn ? { pn, fn } : null;
}

/** pn list → DA; every pn must share one group of eight (DA2), p0 stands alone. */
export function encodeDa(pns: readonly number[]): Uint8Array {
  if (pns.length === 1 && pns[0] === 0) return Uint8Array.of(0, 0);
  const group = pns.length > 0 ? Math.floor(((pns[0] as number) - 1) / 8) + 1 : 0;
  let da1 = 0;
  for (const pn of pns) {
    if (!Number.isInteger(pn) || pn < 1 || pn > 2040 || Math.floor((pn - 1) / 8) + 1 !== group) {
      throw new ProtocolError('GDW1376_BAD_DATA_UNIT_ID', `pn list [${pns.join(', ')}] is not one DA group`);
    }
    da1 |= 1 << ((pn - 1) % 8);
  }
  if (da1 === 0) throw new ProtocolError('GDW1376_BAD_DATA_UNIT_ID', 'a data unit needs at least one pn');
  return Uint8Array.of(da1, group);
}

/** Fn list → DT; every Fn must share one group of eight (DT2). */
export function encodeDt(fns: readonly number[]): Uint8Array {
  const group = fns.length > 0 ? Math.floor(((fns[0] as number) - 1) / 8) : -1;
  let dt1 = 0;
  for (const fn of fns) {
    if (!Number.isInteger(fn) || fn < 1 || fn > 248 || Math.floor((fn - 1) / 8) !== group) {
      throw new ProtocolError('GDW1376_BAD_DATA_UNIT_ID', `Fn list [${fns.join(', ')}] is not one DT group`);
    }
    dt1 |= 1 << ((fn - 1) % 8);
  }
  if (dt1 === 0) throw new ProtocolError('GDW1376_BAD_DATA_UNIT_ID', 'a data unit needs at least one Fn');
  return Uint8Array.of(dt1, group);
}

/** Splits measuring points into DA groups of eight, keeping their order. */
export function groupPns(pns: readonly number[]): number[][] {
  const groups = new Map<number, number[]>();
  for (const pn of pns) {
    const key = pn === 0 ? 0 : Math.floor((pn - 1) / 8) + 1;
    groups.set(key, [...(groups.get(key) ?? []), pn]);
  }
  return [...groups.values()];
}
