/** Bill-line labels for documents and the API, in Chinese and English. */
const COMPONENT: Record<string, [string, string]> = {
  energy: ['电度电费', 'Energy'],
  tier_surcharge: ['阶梯加价', 'Tier surcharge'],
  transmission: ['输配电费', 'Transmission & distribution'],
  line_loss: ['上网环节线损费用', 'Grid line-loss cost'],
  system_operation: ['系统运行费用', 'System operation cost'],
  government_funds: ['政府性基金及附加', 'Government funds & surcharges'],
  basic_capacity: ['基本电费(按容量)', 'Basic charge (capacity)'],
  basic_demand: ['基本电费(按需量)', 'Basic charge (max demand)'],
  power_factor: ['功率因数调整电费', 'Power-factor adjustment'],
};
const REGISTER: Record<string, [string, string]> = {
  sharp: ['尖', 'sharp'], peak: ['峰', 'peak'], flat: ['平', 'flat'], valley: ['谷', 'valley'], total: ['', ''],
};
const TIER_ZH = ['', '第一档', '第二档', '第三档'];

export function lineLabel(l: { component: string; register: string; tier: number }, lang: 'zh' | 'en'): string {
  const [czh, cen] = COMPONENT[l.component] ?? [l.component, l.component];
  const [rzh, ren] = REGISTER[l.register] ?? ['', l.register];
  if (lang === 'zh') return `${czh}${rzh ? `(${rzh})` : ''}${l.tier ? ` ${TIER_ZH[l.tier]}` : ''}`;
  return `${cen}${ren ? ` (${ren})` : ''}${l.tier ? `, tier ${l.tier}` : ''}`;
}

export const KIND_LABEL: Record<string, [string, string]> = {
  bill: ['电费账单', 'Electricity bill'], credit: ['冲红通知', 'Credit note'], rebill: ['更正账单', 'Corrected bill'],
};
