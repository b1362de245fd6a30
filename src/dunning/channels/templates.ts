/**
 * Dunning notice templates (催费通知模板), Chinese by default and English, for every step of
 * the dunning policy. One render gives the SMS text, the email subject and HTML, and a
 * link-free version for voice calls and set-top messages.
 */
import {
  addAmounts,
  checkUrl,
  escapeHtml,
  formatBusinessDate,
  formatPayChannels,
  formatPeriod,
  formatYuan,
  maskCustomerNumber,
  maskName,
  NoticeFormatError,
  type Amount,
} from './notice-format.ts';

export type NoticeStep =
  | 'bill_notice'
  | 'reminder'
  | 'overdue_1'
  | 'overdue_2'
  | 'overdue_3'
  | 'suspension_notice'
  | 'reconnect';
export const NOTICE_STEPS: readonly NoticeStep[] = [
  'bill_notice',
  'reminder',
  'overdue_1',
  'overdue_2',
  'overdue_3',
  'suspension_notice',
  'reconnect',
];

export type NoticeLocale = 'zh' | 'en';

export interface NoticeFields {
  /** Sender signature, e.g. 国网抚顺供电公司 (SMS texts must start with it). */
  brand?: string;
  customerNumber: string;
  customerName: string;
  /** Billing period 'YYYY-MM'; '本期' / 'this period' when absent. */
  period?: string;
  /** Amount of the bill (or of the arrears) still unpaid. */
  amount: Amount;
  /** Business date 'YYYY-MM-DD' (Asia/Shanghai). */
  dueDate: string;
  /** Late fee (违约金) accrued so far. */
  lateFee?: Amount;
  /** Keys of PAY_CHANNEL_LABELS (app, wechat, alipay, bank, counter, portal) or labels. */
  payChannels: readonly string[];
  billUrl: string;
  /** Required for suspension_notice: the first day without supply. */
  suspensionDate?: string;
  /** For reconnect: the service commitment in hours. Default 24. */
  reconnectWithinHours?: number;
  hotline?: string;
}

export interface RenderedNotice {
  subject: string;
  /** Plain text for SMS, signature first. */
  text: string;
  /** Email body. */
  html: string;
  /** For voice calls and set-top messages: no link. */
  speech: string;
}

interface Values {
  name: string;
  no: string;
  period: string;
  amount: string;
  due: string;
  lateFee: string;
  total: string;
  suspension: string;
  hours: string;
}

interface Template {
  subject(v: Values): string;
  body(v: Values): string;
  arrears: boolean;
  pay: boolean;
}

const ZH: Record<NoticeStep, Template> = {
  bill_notice: {
    subject: (v) => `${v.period}电费账单`,
    body: (v) => `尊敬的${v.name}（户号${v.no}）：您${v.period}电费${v.amount}元已出账，请于${v.due}前缴纳。`,
    arrears: false,
    pay: true,
  },
  reminder: {
    subject: () => '电费缴费提醒',
    body: (v) => `尊敬的${v.name}（户号${v.no}）：您${v.period}电费${v.amount}元将于${v.due}到期，目前尚未缴纳，请及时缴费。`,
    arrears: false,
    pay: true,
  },
  overdue_1: {
    subject: () => '电费逾期通知',
    body: (v) => `尊敬的${v.name}（户号${v.no}）：您的电费${v.amount}元已于${v.due}到期未缴，截至今日违约金${v.lateFee}元，合计应缴${v.total}元，请尽快缴纳。`,
    arrears: true,
    pay: true,
  },
  overdue_2: {
    subject: () => '电费逾期第二次通知',
    body: (v) => `尊敬的${v.name}（户号${v.no}）：您的电费${v.amount}元逾期未缴（到期日${v.due}），截至今日违约金${v.lateFee}元，合计应缴${v.total}元。违约金按日累计，请尽快缴纳。`,
    arrears: true,
    pay: true,
  },
  overdue_3: {
    subject: () => '电费逾期最后通知',
    body: (v) => `尊敬的${v.name}（户号${v.no}）：您的电费${v.amount}元逾期未缴（到期日${v.due}），截至今日违约金${v.lateFee}元，合计应缴${v.total}元。这是最后一次自动提醒，仍未缴纳的，您所在网格的社区经理将与您联系。`,
    arrears: true,
    pay: true,
  },
  suspension_notice: {
    subject: () => '停电通知',
    body: (v) => `尊敬的${v.name}（户号${v.no}）：您的电费${v.amount}元逾期未缴（到期日${v.due}），违约金${v.lateFee}元，合计应缴${v.total}元。依据供用电合同，如在${v.suspension}前仍未缴清，我公司将自${v.suspension}起中止供电。`,
    arrears: true,
    pay: true,
  },
  reconnect: {
    subject: () => '缴费成功，恢复供电',
    body: (v) => `尊敬的${v.name}（户号${v.no}）：已收到您的电费缴款，我们将在${v.hours}小时内为您恢复供电。`,
    arrears: false,
    pay: false,
  },
};

const EN: Record<NoticeStep, Template> = {
  bill_notice: {
    subject: (v) => `Your electricity bill for ${v.period}`,
    body: (v) => `Dear ${v.name} (account ${v.no}), your electricity bill for ${v.period} is CNY ${v.amount}, due by ${v.due}.`,
    arrears: false,
    pay: true,
  },
  reminder: {
    subject: () => 'Electricity bill payment reminder',
    body: (v) => `Dear ${v.name} (account ${v.no}), your electricity bill of CNY ${v.amount} for ${v.period} is due on ${v.due} and is not paid yet.`,
    arrears: false,
    pay: true,
  },
  overdue_1: {
    subject: () => 'Overdue electricity bill',
    body: (v) => `Dear ${v.name} (account ${v.no}), your electricity bill of CNY ${v.amount} was due on ${v.due} and is unpaid. Late fee so far: CNY ${v.lateFee}; total due: CNY ${v.total}. Please pay as soon as possible.`,
    arrears: true,
    pay: true,
  },
  overdue_2: {
    subject: () => 'Second overdue notice',
    body: (v) => `Dear ${v.name} (account ${v.no}), your electricity bill of CNY ${v.amount} (due ${v.due}) is still unpaid. Late fee so far: CNY ${v.lateFee}; total due: CNY ${v.total}. The late fee grows every day.`,
    arrears: true,
    pay: true,
  },
  overdue_3: {
    subject: () => 'Final overdue notice',
    body: (v) => `Dear ${v.name} (account ${v.no}), your electricity bill of CNY ${v.amount} (due ${v.due}) is still unpaid. Late fee so far: CNY ${v.lateFee}; total due: CNY ${v.total}. This is the last automatic reminder; if it stays unpaid, your community manager will contact you.`,
    arrears: true,
    pay: true,
  },
  suspension_notice: {
    subject: () => 'Notice of supply suspension',
    body: (v) => `Dear ${v.name} (account ${v.no}), your electricity bill of CNY ${v.amount} (due ${v.due}) is unpaid; late fee CNY ${v.lateFee}; total due CNY ${v.total}. Under your supply contract, unless paid in full before ${v.suspension}, supply will be suspended from ${v.suspension}.`,
    arrears: true,
    pay: true,
  },
  reconnect: {
    subject: () => 'Payment received: supply restored',
    body: (v) => `Dear ${v.name} (account ${v.no}), we have received your payment and will restore your supply within ${v.hours} hours.`,
    arrears: false,
    pay: false,
  },
};

const LABELS = {
  zh: {
    no: '户号',
    amount: '电费金额',
    lateFee: '违约金',
    total: '合计应缴',
    due: '缴费截止日',
    pay: '缴费方式',
    link: '查看电子账单',
    hotline: '服务热线',
    yuan: (a: string) => `${a} 元`,
  },
  en: {
    no: 'Account',
    amount: 'Bill amount',
    lateFee: 'Late fee',
    total: 'Total due',
    due: 'Due date',
    pay: 'How to pay',
    link: 'View your bill',
    hotline: 'Hotline',
    yuan: (a: string) => `CNY ${a}`,
  },
} as const;

export function renderNotice(step: NoticeStep, fields: NoticeFields, locale: NoticeLocale = 'zh'): RenderedNotice {
  const template = (locale === 'zh' ? ZH : EN)[step];
  if (step === 'suspension_notice' && !fields.suspensionDate) {
    throw new NoticeFormatError('suspension_notice needs suspensionDate');
  }
  const lateFee = fields.lateFee ?? 0n;
  const v: Values = {
    name: maskName(fields.customerName),
    no: maskCustomerNumber(fields.customerNumber),
    period: fields.period ? formatPeriod(fields.period, locale) : locale === 'zh' ? '本期' : 'this period',
    amount: formatYuan(fields.amount),
    due: formatBusinessDate(fields.dueDate, locale),
    lateFee: formatYuan(lateFee),
    total: formatYuan(addAmounts(fields.amount, lateFee)),
    suspension: fields.suspensionDate ? formatBusinessDate(fields.suspensionDate, locale) : '',
    hours: String(fields.reconnectWithinHours ?? 24),
  };
  const url = checkUrl(fields.billUrl);
  const brand = fields.brand ?? (locale === 'zh' ? '供电公司' : 'Power Supply Co.');
  const hotline = fields.hotline ?? '95598';
  const pay = formatPayChannels(fields.payChannels, locale);
  const subject = template.subject(v);
  const body = template.body(v);

  const payLine = template.pay && pay ? (locale === 'zh' ? `缴费方式：${pay}。` : ` Pay via ${pay}.`) : '';
  const linkLine = locale === 'zh' ? `详情：${url} ` : ` Details: ${url} `;
  const hotlineLine = locale === 'zh' ? `咨询请拨${hotline}。` : `Questions: call ${hotline}.`;
  const text = `${locale === 'zh' ? `【${brand}】` : `[${brand}] `}${body}${payLine}${linkLine}${hotlineLine}`;
  const speech = `${body}${payLine}${locale === 'zh' ? '' : ' '}${hotlineLine}`;
  return { subject, text, html: renderHtml(locale, template, v, { subject, body, brand, url, hotline, pay }), speech };
}

function renderHtml(
  locale: NoticeLocale,
  template: Template,
  v: Values,
  p: { subject: string; body: string; brand: string; url: string; hotline: string; pay: string },
): string {
  const l = LABELS[locale];
  const row = (label: string, value: string, strong = false) => {
    const shown = strong ? `<strong>${escapeHtml(value)}</strong>` : escapeHtml(value);
    return `<tr><td style="padding:4px 12px 4px 0;color:#555">${escapeHtml(label)}</td><td style="padding:4px 0">${shown}</td></tr>`;
  };
  const rows = [
    row(l.no, v.no),
    row(l.amount, l.yuan(v.amount), !template.arrears),
    ...(template.arrears ? [row(l.lateFee, l.yuan(v.lateFee)), row(l.total, l.yuan(v.total), true)] : []),
    ...(template.pay ? [row(l.due, v.due)] : []),
  ];
  return [
    '<!doctype html>',
    `<html lang="${locale === 'zh' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8"><title>${escapeHtml(p.subject)}</title></head>`,
    '<body style="font-family:sans-serif;font-size:15px;color:#222">',
    `<p>${escapeHtml(p.body)}</p>`,
    `<table style="border-collapse:collapse">${rows.join('')}</table>`,
    template.pay && p.pay ? `<p>${escapeHtml(l.pay)}${locale === 'zh' ? '：' : ': '}${escapeHtml(p.pay)}</p>` : '',
    `<p><a href="${escapeHtml(p.url)}" style="color:#0a58ca">${escapeHtml(l.link)}</a></p>`,
    `<p style="color:#888;font-size:12px">${escapeHtml(p.brand)} · ${escapeHtml(l.hotline)} ${escapeHtml(p.hotline)}</p>`,
    '</body></html>',
  ].join('\n');
}
