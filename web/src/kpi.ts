import type { Lang } from './i18n.tsx';

export interface KpiDef {
  kpi: string;
  name: string;
  nameEn: string;
  unit: 'ratio' | 'count' | 'amount' | 'days' | 'households';
  better: 'higher' | 'lower';
  group: string;
}

export interface KpiValue {
  value: string | null;
  numerator: string | null;
  denominator: string | null;
}

/** Display a KPI value: ratios as percentages, amounts with two decimals (values are exact decimal strings). */
export function formatKpi(def: Pick<KpiDef, 'unit'> | undefined, value: string | null | undefined, lang: Lang): string {
  if (value === null || value === undefined) return '—';
  const locale = lang === 'zh' ? 'zh-CN' : 'en-US';
  const n = Number(value);
  switch (def?.unit) {
    case 'ratio': return `${(n * 100).toFixed(2)}%`;
    case 'amount': return n.toLocaleString(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    case 'days': return n.toFixed(1);
    case 'households': return Math.round(n).toLocaleString(locale);
    default: return Math.round(n).toLocaleString(locale);
  }
}

export function formatCount(value: string | null | undefined, lang: Lang): string {
  if (value === null || value === undefined) return '—';
  return Number(value).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-US', { maximumFractionDigits: 2 });
}

/** The list behind a KPI: the page (and filter) a number clicks through to. */
export function listFor(kpi: string): { path: string; query?: Record<string, string> } {
  if (kpi === 'read_success' || kpi === 'meters_unread') return { path: '/collection', query: { tab: 'unread' } };
  if (kpi.startsWith('reread')) return { path: '/collection', query: { tab: 'reread' } };
  if (kpi === 'auto_read_bill_share') return { path: '/billing' };
  if (kpi.startsWith('channel') || kpi === 'cleared_without_person' || kpi === 'manual_collection_open') return { path: '/dunning' };
  if (kpi.startsWith('arrears') || kpi.startsWith('late_fee') || kpi.endsWith('_amount') || kpi === 'collection_rate') return { path: '/billing' };
  if (kpi.startsWith('meters_')) return { path: '/service', query: { tab: 'assets' } };
  return { path: '/service' };
}
