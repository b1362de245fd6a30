import { AppError } from '../../platform/index.ts';
import type { MeterState } from '../store/assets.repository.ts';

/** A lifecycle event: arrival from the factory, verification (检定), stock, dispatch, install, removal, scrapping. */
export type MeterEventKind = 'arrived' | 'verified' | 'in_stock' | 'dispatched' | 'installed' | 'removed' | 'scrapped';

const FROM: Record<Exclude<MeterEventKind, 'arrived'>, MeterState[]> = {
  // a removed meter is re-verified before it may go back to stock; a failed one may be re-verified (after repair)
  verified: ['arrived', 'verify_failed', 'removed'],
  in_stock: ['verified', 'dispatched'],
  dispatched: ['in_stock'],
  installed: ['in_stock', 'dispatched'],
  removed: ['installed'],
  scrapped: ['verify_failed', 'removed', 'arrived'],
};

/** The state a meter moves to, or ASSET_TRANSITION_REFUSED with what was expected. */
export function nextMeterState(current: MeterState | null, event: MeterEventKind, result?: 'pass' | 'fail'): MeterState {
  if (event === 'arrived') {
    if (current !== null) throw new AppError('ASSET_TRANSITION_REFUSED', `meter already registered (${current}); arrival is its first event`, 409);
    return 'arrived';
  }
  if (result !== undefined && event !== 'verified') throw new AppError('ASSET_EVENT_INVALID', `only a verification has a result; ${event} does not`, 400);
  if (current === null) throw new AppError('ASSET_TRANSITION_REFUSED', `meter has not arrived; ${event} needs an arrival first`, 409);
  if (!FROM[event].includes(current)) {
    throw new AppError('ASSET_TRANSITION_REFUSED', `a meter that is ${current} cannot be ${event}; allowed from ${FROM[event].join(', ')}`, 409);
  }
  if (event === 'verified') {
    if (result !== 'pass' && result !== 'fail') throw new AppError('ASSET_EVENT_INVALID', 'a verification needs result pass or fail', 400);
    return result === 'pass' ? 'verified' : 'verify_failed';
  }
  return event;
}

/** Whole years of running after which a meter is due for rotation on `today` (install date, else manufacture date). */
export function rotationDueOn(since: string, years: number): string {
  const [y, m, d] = since.split('-').map(Number) as [number, number, number];
  // 29 February falls due on 28 February in a common year, as PostgreSQL's date + interval does
  const lastDay = new Date(Date.UTC(y + years, m, 0)).getUTCDate();
  return `${String(y + years).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(Math.min(d, lastDay)).padStart(2, '0')}`;
}
