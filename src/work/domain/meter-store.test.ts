import { describe, expect, it } from 'vitest';
import { countyPathOf, requireMeterFromPlaceStore } from './meter-store.ts';

describe('which store a crew fits a meter from', () => {
  it('the county of a path is its first four levels; a path above a county stands for itself', () => {
    expect(countyPathOf('/SGCC/LN/LN01/LN0101/LN0101S01/LN0101S01G01/')).toBe('/SGCC/LN/LN01/LN0101/');
    expect(countyPathOf('/SGCC/LN/LN01/LN0101/')).toBe('/SGCC/LN/LN01/LN0101/');
    expect(countyPathOf('/SGCC/LN/LN01/')).toBe('/SGCC/LN/LN01/');
  });

  it('a meter held anywhere in the county of the place may be fitted; one of another county, or of the city store, may not', () => {
    const place = '/SGCC/LN/LN01/LN0101/LN0101S01/LN0101S01G02/';
    for (const orgPath of ['/SGCC/LN/LN01/LN0101/', '/SGCC/LN/LN01/LN0101/LN0101S02/LN0101S02G01/']) {
      expect(() => requireMeterFromPlaceStore({ assetNo: 'M1', orgPath }, place)).not.toThrow();
    }
    for (const orgPath of ['/SGCC/LN/LN01/LN0102/', '/SGCC/LN/LN02/LN0201/', '/SGCC/LN/LN01/', '/SGCC/', '/']) {
      expect(() => requireMeterFromPlaceStore({ assetNo: 'M1', orgPath }, place), orgPath).toThrow(expect.objectContaining({ code: 'ASSET_OUT_OF_SCOPE', status: 403 }));
    }
  });
});
