import { AppError } from '../../platform/index.ts';

/**
 * The county (县供电分公司) an org path lies in: HQ, province, city and county are its first four segments
 * ('/SGCC/LN/LN01/LN0101/'); a path above county level stands for itself.
 */
export function countyPathOf(orgPath: string): string {
  return /^\/[^/]+\/[^/]+\/[^/]+\/[^/]+\//.exec(orgPath)?.[0] ?? orgPath;
}

/**
 * A crew fits a meter from the store of the county the place belongs to (the county's own store, or a
 * station's or grid's inside it): the meter's org (where it is held, or runs) must lie in that county. A
 * meter held by another county, or still by the city or the metering center, is dispatched to the county
 * first. Refused with ASSET_OUT_OF_SCOPE (403) before the meter's state is looked at.
 */
export function requireMeterFromPlaceStore(meter: { assetNo: string; orgPath: string }, placeOrgPath: string): void {
  const county = countyPathOf(placeOrgPath);
  if (!meter.orgPath.startsWith(county)) {
    throw new AppError('ASSET_OUT_OF_SCOPE', `meter ${meter.assetNo} is not held in the store of ${county}, where it would be fitted: fit a meter from that county's store, or have it dispatched there first`, 403);
  }
}
