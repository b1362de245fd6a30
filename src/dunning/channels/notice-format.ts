/**
 * Formatting for notice texts: exact yuan amounts, masked customer data, business dates.
 * Pure functions; money never passes through a floating-point number.
 */

/** Integer fen as bigint, or a decimal yuan string as SQL numeric renders it ('1234.5'). */
export type Amount = bigint | string;

export class NoticeFormatError extends Error {
  readonly code = 'NOTICE_FIELD_INVALID';
}

export function toFen(amount: Amount): bigint {
  if (typeof amount === 'bigint') return amount;
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(amount.trim());
  if (!m) throw new NoticeFormatError(`amount must be yuan with at most 2 decimals, got '${amount}'`);
  const fen = BigInt(m[2]!) * 100n + BigInt((m[3] ?? '').padEnd(2, '0'));
  return m[1] === '-' ? -fen : fen;
}

/** 123456n → '1,234.56'; '-0.5' → '-0.50'. */
export function formatYuan(amount: Amount): string {
  const fen = toFen(amount);
  const abs = fen < 0n ? -fen : fen;
  const yuan = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const cents = (abs % 100n).toString().padStart(2, '0');
  return `${fen < 0n ? '-' : ''}${yuan}.${cents}`;
}

export function addAmounts(...amounts: Amount[]): bigint {
  return amounts.reduce<bigint>((sum, a) => sum + toFen(a), 0n);
}

/** Keeps the first and last two characters: '2100123489' → '21******89'. */
export function maskCustomerNumber(customerNumber: string): string {
  const chars = Array.from(customerNumber.trim());
  if (chars.length <= 4) return '*'.repeat(chars.length);
  return `${chars.slice(0, 2).join('')}${'*'.repeat(chars.length - 4)}${chars.slice(-2).join('')}`;
}

/** 张三明 → 张*明, 张三 → 张*, 欧阳明华 → 欧**华; Latin names keep each word's initial. */
export function maskName(name: string): string {
  const trimmed = name.trim();
  if (/^[\p{Script=Latin}\s.'-]+$/u.test(trimmed)) {
    return trimmed
      .split(/\s+/)
      .map((word) => {
        const chars = Array.from(word);
        return chars[0] + '*'.repeat(chars.length - 1);
      })
      .join(' ');
  }
  const chars = Array.from(trimmed.replace(/\s+/g, ''));
  if (chars.length <= 1) return chars.join('');
  if (chars.length === 2) return `${chars[0]}*`;
  return `${chars[0]}${'*'.repeat(chars.length - 2)}${chars[chars.length - 1]}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A business date 'YYYY-MM-DD' → '2024年7月15日' (zh) or '15 Jul 2024' (en). */
export function formatBusinessDate(isoDate: string, locale: 'zh' | 'en'): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  const month = m ? Number(m[2]) : 0;
  const day = m ? Number(m[3]) : 0;
  if (!m || month < 1 || month > 12 || day < 1 || day > 31) {
    throw new NoticeFormatError(`date must be YYYY-MM-DD, got '${isoDate}'`);
  }
  return locale === 'zh' ? `${m[1]}年${month}月${day}日` : `${day} ${MONTHS[month - 1]} ${m[1]}`;
}

/** A billing period 'YYYY-MM' → '2024年6月' (zh) or 'Jun 2024' (en). */
export function formatPeriod(period: string, locale: 'zh' | 'en'): string {
  const m = /^(\d{4})-(\d{2})$/.exec(period);
  const month = m ? Number(m[2]) : 0;
  if (!m || month < 1 || month > 12) throw new NoticeFormatError(`period must be YYYY-MM, got '${period}'`);
  return locale === 'zh' ? `${m[1]}年${month}月` : `${MONTHS[month - 1]} ${m[1]}`;
}

/** Ways to pay, by key; an unknown key is shown as given. */
export const PAY_CHANNEL_LABELS: Record<string, { zh: string; en: string }> = {
  app: { zh: '网上国网App', en: 'the State Grid app' },
  wechat: { zh: '微信', en: 'WeChat Pay' },
  alipay: { zh: '支付宝', en: 'Alipay' },
  bank: { zh: '银行代扣', en: 'bank direct debit' },
  counter: { zh: '供电营业厅', en: 'a service counter' },
  portal: { zh: '网上营业厅', en: 'the online portal' },
};

export function formatPayChannels(keys: readonly string[], locale: 'zh' | 'en'): string {
  const labels = keys.map((k) => PAY_CHANNEL_LABELS[k]?.[locale] ?? k);
  if (locale === 'zh') return labels.join('、');
  if (labels.length <= 1) return labels.join('');
  return `${labels.slice(0, -1).join(', ')} or ${labels[labels.length - 1]}`;
}

export function checkUrl(url: string): string {
  if (!/^https?:\/\/[^\s"'<>]+$/.test(url)) throw new NoticeFormatError(`bill link must be an http(s) URL, got '${url}'`);
  return url;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
