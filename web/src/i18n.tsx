import { createContext, useContext } from 'react';

/** Every UI string in Chinese and English; Chinese is the default. */
const DICT = {
  appName: ['零接触 ZeroTouch', 'ZeroTouch'],
  signIn: ['登录', 'Sign in'],
  signOut: ['退出', 'Sign out'],
  staff: ['员工', 'Staff'],
  customer: ['客户', 'Customer'],
  username: ['工号', 'Staff code'],
  password: ['密码', 'Password'],
  customerNumber: ['户号', 'Customer number'],
  badCredentials: ['账号或密码错误', 'Unknown user or wrong password'],
  language: ['English', '中文'],
  monitoring: ['监控中心', 'Monitoring center'],
  collection: ['采集监控', 'Collection'],
  billing: ['电费核算', 'Billing'],
  dunning: ['催费', 'Dunning'],
  workbench: ['网格工作台', 'Workbench'],
  portal: ['我的用电', 'My account'],
  service: ['客户服务', 'Service'],
  customers: ['客户查询', 'Customers'],
  loading: ['加载中…', 'Loading…'],
  noData: ['暂无数据', 'No data'],
  day: ['日期', 'Day'],
  trend: ['趋势', 'Trend'],
  children: ['下级单位', 'Units below'],
  teams: ['采集运维班', 'Collection teams'],
  worstFirst: ['最差优先', 'worst first'],
  unit: ['单位', 'Unit'],
  level: ['层级', 'Level'],
  value: ['数值', 'Value'],
  numerator: ['分子', 'Numerator'],
  denominator: ['分母', 'Denominator'],
  drillDown: ['下钻', 'Drill down'],
  asOf: ['数据日期', 'As of'],
  noKpiYet: ['尚未计算指标，请运行 zerotouch kpi', 'No KPIs computed yet: run zerotouch kpi'],
  search: ['查询', 'Search'],
  name: ['名称', 'Name'],
  address: ['地址', 'Address'],
  category: ['类别', 'Category'],
  tariff: ['电价', 'Tariff'],
  cycle: ['抄表周期', 'Billing cycle'],
  status: ['状态', 'Status'],
  contacts: ['联系方式', 'Contacts'],
  channels: ['通知渠道', 'Notification channels'],
  channel: ['渠道', 'Channel'],
  priority: ['顺序', 'Order'],
  consentedAt: ['同意时间', 'Consented'],
  addChannel: ['添加渠道', 'Add channel'],
  withdraw: ['撤回', 'Withdraw'],
  moveUp: ['上移', 'Move up'],
  save: ['保存', 'Save'],
  saved: ['已保存', 'Saved'],
  contactValue: ['号码/地址', 'Number / address'],
  meters: ['电表', 'Meters'],
  profile: ['户主信息', 'Account'],
  orgUnit: ['单位', 'Org unit'],
  customerCard: ['客户卡片', 'Customer card'],
  hq: ['总部', 'HQ'],
  province: ['省', 'Province'],
  city: ['市', 'City'],
  county: ['县', 'County'],
  station: ['供电所', 'Station'],
  grid: ['网格', 'Grid'],
  team: ['班组', 'Team'],
  sms: ['短信', 'SMS'],
  voice: ['语音外呼', 'Voice call'],
  email: ['电子邮件', 'Email'],
  catv: ['有线电视', 'Cable TV'],
  openList: ['查看明细', 'Open the list'],
  total: ['合计', 'Total'],
  kpiGroup_collection: ['采集', 'Collection'],
  kpiGroup_billing: ['核算', 'Billing'],
  kpiGroup_payments: ['回收', 'Payments'],
  kpiGroup_dunning: ['催费', 'Dunning'],
  kpiGroup_service: ['服务', 'Service'],
  kpiGroup_assets: ['资产', 'Assets'],
  kpiGroup_staffing: ['人效', 'Staffing'],
} as const satisfies Record<string, readonly [string, string]>;

export type Lang = 'zh' | 'en';
export type MessageKey = keyof typeof DICT;

export const LangContext = createContext<{ lang: Lang; setLang: (l: Lang) => void }>({ lang: 'zh', setLang: () => undefined });

export function translate(lang: Lang, key: MessageKey): string {
  return DICT[key][lang === 'zh' ? 0 : 1];
}

/** `t(key)` for UI strings, `pick(zh, en)` for names that come with both spellings from the API. */
export function useT() {
  const { lang, setLang } = useContext(LangContext);
  return {
    lang,
    setLang,
    t: (key: MessageKey) => translate(lang, key),
    pick: (zh: string, en?: string | null) => (lang === 'en' && en ? en : zh),
  };
}

export function isMessageKey(k: string): k is MessageKey {
  return k in DICT;
}
