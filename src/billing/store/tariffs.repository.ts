import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';
import type { TariffSpan } from './rating.ts';

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

/** Whether a version of the tariff prices the given day (the first version starts the tariff). */
export async function tariffInForce(db: Db, code: string, day: string): Promise<boolean> {
  const r = await sql<{ ok: boolean }>`
    SELECT EXISTS (SELECT 1 FROM tariff_version WHERE tariff_code = ${code} AND effective_from <= ${day}::date) AS ok`.execute(db);
  return r.rows[0]!.ok;
}

/**
 * The parts of [start, end) at each tariff for a customer whose tariff changed inside it, in date order, as
 * a billing run stages them (customers' tariff spans); null when one tariff holds for the whole period.
 */
export async function customerTariffSpans(db: Db, customerId: number, start: string, end: string): Promise<TariffSpan[] | null> {
  const r = await sql<{ from: string; to: string; tariff: string }>`
    SELECT greatest(s.valid_from, ${start}::date)::text AS "from", least(coalesce(s.valid_to, ${end}::date), ${end}::date)::text AS "to",
      s.tariff_code AS tariff
    FROM v_customer_tariff_span s
    WHERE s.customer_id = ${customerId} AND (s.valid_from IS NULL OR s.valid_from < ${end}::date) AND (s.valid_to IS NULL OR s.valid_to > ${start}::date)
    ORDER BY s.valid_from NULLS FIRST`.execute(db);
  return r.rows.length > 1 ? r.rows : null;
}

/** The catalogue with every version and its prices (small reference data). */
export async function listTariffs(db: Db) {
  const [tariffs, versions, rates, bands] = await Promise.all([
    sql<TariffRow>`SELECT * FROM tariff ORDER BY code`.execute(db),
    sql<{ id: number; tariff_code: string; effective_from: string; tier1_limit_kwh: string | null; tier2_limit_kwh: string | null; capacity_price: string | null; demand_price: string | null; pf_standard: string | null; pf_min_kva: number | null; note: string | null }>`
      SELECT * FROM tariff_version ORDER BY tariff_code, effective_from`.execute(db),
    sql<{ version_id: number; component: string; register: string; tier: number; price: string }>`
      SELECT * FROM tariff_rate ORDER BY version_id, component, register, tier`.execute(db),
    sql<{ version_id: number; min_kva: number; standard: string }>`
      SELECT * FROM tariff_power_factor_band ORDER BY version_id, min_kva DESC`.execute(db),
  ]);
  return tariffs.rows.map((t) => ({
    code: t.code, name: t.name, nameEn: t.name_en, category: t.category, tierBasis: t.tier_basis,
    tierYearStartMonth: t.tier_year_start_month, demoData: t.demo_data,
    versions: versions.rows.filter((v) => v.tariff_code === t.code).map((v) => ({
      id: v.id, effectiveFrom: v.effective_from, tier1LimitKwh: v.tier1_limit_kwh, tier2LimitKwh: v.tier2_limit_kwh,
      capacityPrice: v.capacity_price, demandPrice: v.demand_price, pfStandard: v.pf_standard, pfMinKva: v.pf_min_kva,
      pfBands: bands.rows.filter((b) => b.version_id === v.id).map((b) => ({ minKva: b.min_kva, standard: b.standard })), note: v.note,
      rates: rates.rows.filter((r) => r.version_id === v.id).map((r) => ({ component: r.component, register: r.register, tier: r.tier, price: r.price })),
    })),
  }));
}
