/**
 * The KPIs the two centers (两中心) watch, each rolled up daily for every org unit and collection team.
 * Pure data: names, units, and which direction is worse, so "worst areas first" is one rule.
 */
export type KpiUnit = 'ratio' | 'count' | 'amount' | 'days' | 'households';

export interface KpiDef {
  kpi: string;
  name: string;
  nameEn: string;
  unit: KpiUnit;
  /** Which way is good: drill-downs list the worst first. */
  better: 'higher' | 'lower';
  group: 'collection' | 'billing' | 'payments' | 'dunning' | 'service' | 'assets' | 'staffing';
}

const def = (kpi: string, name: string, nameEn: string, unit: KpiUnit, better: KpiDef['better'], group: KpiDef['group']): KpiDef =>
  ({ kpi, name, nameEn, unit, better, group });

export const METER_STATES = ['arrived', 'verified', 'verify_failed', 'in_stock', 'dispatched', 'installed', 'removed', 'scrapped'] as const;
const METER_STATE_NAMES: Record<(typeof METER_STATES)[number], [string, string]> = {
  arrived: ['到货', 'arrived'], verified: ['检定合格', 'verified'], verify_failed: ['检定不合格', 'verification failed'],
  in_stock: ['在库', 'in stock'], dispatched: ['已配送', 'dispatched'], installed: ['运行', 'installed'],
  removed: ['拆回', 'removed'], scrapped: ['报废', 'scrapped'],
};

export const KPIS: KpiDef[] = [
  def('read_success', '采集成功率', 'read-success rate', 'ratio', 'higher', 'collection'),
  def('meters_unread', '未采集电表', 'unread meters', 'count', 'lower', 'collection'),
  def('reread_open', '在途补抄工单', 'open re-read tasks', 'count', 'lower', 'collection'),
  def('reread_age_days', '补抄工单平均时长(天)', 'average re-read task age (days)', 'days', 'lower', 'collection'),
  def('auto_read_bill_share', '自动抄表结算占比', 'automatic-read share of bills', 'ratio', 'higher', 'billing'),
  def('households_per_staff', '人均户数(抄表催费)', 'households per reading/dunning staff', 'households', 'higher', 'staffing'),
  def('channel_coverage', '催费渠道覆盖率(已核实)', 'channel coverage (agreed, verified)', 'ratio', 'higher', 'dunning'),
  def('channel_agreed_coverage', '已签约渠道覆盖率(含未核实)', 'agreed channel coverage (verified or not)', 'ratio', 'higher', 'dunning'),
  def('cleared_without_person', '无人工结清占比', 'cleared without a person', 'ratio', 'higher', 'dunning'),
  def('manual_collection_open', '在途人工催费', 'open manual collection tasks', 'count', 'lower', 'dunning'),
  def('collection_rate', '电费回收率', 'collection rate', 'ratio', 'higher', 'payments'),
  def('billed_amount', '应收电费(元)', 'billed (yuan)', 'amount', 'higher', 'payments'),
  def('collected_amount', '实收电费(元)', 'collected (yuan)', 'amount', 'higher', 'payments'),
  def('arrears_0_30', '欠费0-30天(元)', 'arrears 0-30 days (yuan)', 'amount', 'lower', 'payments'),
  def('arrears_31_90', '欠费31-90天(元)', 'arrears 31-90 days (yuan)', 'amount', 'lower', 'payments'),
  def('arrears_over_90', '欠费90天以上(元)', 'arrears over 90 days (yuan)', 'amount', 'lower', 'payments'),
  def('arrears_total', '欠费合计(元)', 'total arrears (yuan)', 'amount', 'lower', 'payments'),
  def('late_fee_accrued', '违约金应收(元)', 'late fees accrued (yuan)', 'amount', 'lower', 'payments'),
  def('late_fee_collected', '违约金实收(元)', 'late fees collected (yuan)', 'amount', 'higher', 'payments'),
  def('tasks_overdue', '超期工单', 'overdue tasks', 'count', 'lower', 'service'),
  def('orders_in_limit', '95598工单时限达标率', '95598 orders within time limit', 'ratio', 'higher', 'service'),
  def('orders_overdue', '95598超期工单', '95598 orders overdue', 'count', 'lower', 'service'),
  def('connections_in_limit', '业扩时限达标率', 'new connections within time limit', 'ratio', 'higher', 'service'),
  ...METER_STATES.map((s) => def(`meters_${s}`, `电表-${METER_STATE_NAMES[s][0]}`, `meters ${METER_STATE_NAMES[s][1]}`, 'count', 'higher', 'assets')),
];

const BY_ID = new Map(KPIS.map((k) => [k.kpi, k]));

export function kpiDef(kpi: string): KpiDef | undefined {
  return BY_ID.get(kpi);
}

