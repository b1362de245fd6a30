import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';

export interface TariffRow {
  code: string;
  name: string;
  name_en: string;
  category: string;
  tier_basis: string;
  tier_year_start_month: number;
  demo_data: boolean;
}

export async function findTariff(db: Db, code: string): Promise<TariffRow | undefined> {
  return (await sql<TariffRow>`SELECT * FROM tariff WHERE code = ${code}`.execute(db)).rows[0];
}

/** The catalogue with every version and its prices (small reference data). */
export async function listTariffs(db: Db) {
  const [tariffs, versions, rates] = await Promise.all([
    sql<TariffRow>`SELECT * FROM tariff ORDER BY code`.execute(db),
    sql<{ id: number; tariff_code: string; effective_from: string; tier1_limit_kwh: string | null; tier2_limit_kwh: string | null; capacity_price: string | null; demand_price: string | null; pf_standard: string | null; pf_min_kva: number | null; note: string | null }>`
      SELECT * FROM tariff_version ORDER BY tariff_code, effective_from`.execute(db),
    sql<{ version_id: number; component: string; register: string; tier: number; price: string }>`
      SELECT * FROM tariff_rate ORDER BY version_id, component, register, tier`.execute(db),
  ]);
  return tariffs.rows.map((t) => ({
    code: t.code, name: t.name, nameEn: t.name_en, category: t.category, tierBasis: t.tier_basis,
    tierYearStartMonth: t.tier_year_start_month, demoData: t.demo_data,
    versions: versions.rows.filter((v) => v.tariff_code === t.code).map((v) => ({
      id: v.id, effectiveFrom: v.effective_from, tier1LimitKwh: v.tier1_limit_kwh, tier2LimitKwh: v.tier2_limit_kwh,
      capacityPrice: v.capacity_price, demandPrice: v.demand_price, pfStandard: v.pf_standard, pfMinKva: v.pf_min_kva, note: v.note,
      rates: rates.rows.filter((r) => r.version_id === v.id).map((r) => ({ component: r.component, register: r.register, tier: r.tier, price: r.price })),
    })),
  }));
}
