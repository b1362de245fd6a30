import { describe, expect, it } from 'vitest';
import {
  addAmounts,
  formatBusinessDate,
  formatPayChannels,
  formatYuan,
  maskCustomerNumber,
  maskName,
  toFen,
} from './notice-format.ts';
import { NOTICE_STEPS, renderNotice, type NoticeFields } from './templates.ts';

function fields(overrides: Partial<NoticeFields> = {}): NoticeFields {
  return {
    brand: '国网抚顺供电公司',
    customerNumber: '2100123489',
    customerName: '张三明',
    period: '2024-06',
    amount: '1234.5',
    dueDate: '2024-07-15',
    lateFee: 123n,
    payChannels: ['app', 'wechat', 'alipay'],
    billUrl: 'https://pay.example/b/42',
    suspensionDate: '2024-08-20',
    ...overrides,
  };
}

describe('exact money formatting', () => {
  it('reads decimal yuan strings and fen without floating point', () => {
    expect(toFen('1234.5')).toBe(123450n);
    expect(toFen('0.07')).toBe(7n);
    expect(toFen('-3')).toBe(-300n);
    expect(formatYuan(123456789012345678n)).toBe('1,234,567,890,123,456.78');
    // 0.1 + 0.2 in floating point is 0.30000000000000004
    expect(formatYuan(addAmounts('0.1', '0.2'))).toBe('0.30');
    expect(formatYuan('-0.5')).toBe('-0.50');
  });

  it('refuses amounts with more than two decimals or stray characters', () => {
    expect(() => toFen('1.005')).toThrow(/at most 2 decimals/);
    expect(() => toFen('1,000')).toThrow();
    expect(() => toFen('1e3')).toThrow();
  });
});

describe('masking', () => {
  it('keeps the first and last two characters of a customer number', () => {
    expect(maskCustomerNumber('2100123489')).toBe('21******89');
    expect(maskCustomerNumber('0123456789012')).toBe('01*********12');
    expect(maskCustomerNumber('1234')).toBe('****');
  });

  it('masks Chinese names inside and Latin names after each initial', () => {
    expect(maskName('张三明')).toBe('张*明');
    expect(maskName('张三')).toBe('张*');
    expect(maskName('欧阳明华')).toBe('欧**华');
    expect(maskName('Zhang Sanming')).toBe('Z**** S******');
  });
});

describe('dates and pay channels', () => {
  it('formats business dates per locale and refuses bad ones', () => {
    expect(formatBusinessDate('2024-07-05', 'zh')).toBe('2024年7月5日');
    expect(formatBusinessDate('2024-07-05', 'en')).toBe('5 Jul 2024');
    expect(() => formatBusinessDate('2024-13-01', 'zh')).toThrow(/YYYY-MM-DD/);
  });

  it('lists pay channels in the reader’s language', () => {
    expect(formatPayChannels(['wechat', 'alipay', 'counter'], 'zh')).toBe('微信、支付宝、供电营业厅');
    expect(formatPayChannels(['wechat', 'alipay', 'counter'], 'en')).toBe('WeChat Pay, Alipay or a service counter');
    expect(formatPayChannels(['农商银行'], 'en')).toBe('农商银行');
  });
});

describe('notice templates', () => {
  it('renders the Chinese bill notice SMS with signature, masked data, amount, due date and link', () => {
    const notice = renderNotice('bill_notice', fields());
    expect(notice.subject).toBe('2024年6月电费账单');
    expect(notice.text).toBe(
      '【国网抚顺供电公司】尊敬的张*明（户号21******89）：您2024年6月电费1,234.50元已出账，请于2024年7月15日前缴纳。' +
        '缴费方式：网上国网App、微信、支付宝。详情：https://pay.example/b/42 咨询请拨95598。',
    );
    expect(notice.speech).not.toContain('https://');
  });

  it('adds the late fee and the exact total from overdue notice 1 on', () => {
    const notice = renderNotice('overdue_1', fields({ amount: 99_999n, lateFee: '0.01' }));
    expect(notice.text).toContain('您的电费999.99元已于2024年7月15日到期未缴，截至今日违约金0.01元，合计应缴1,000.00元');
    expect(notice.html).toContain('<strong>1,000.00 元</strong>');
  });

  it('renders English notices', () => {
    const notice = renderNotice('overdue_3', fields({ customerName: 'Li Lei', brand: 'Fushun Power' }), 'en');
    expect(notice.subject).toBe('Final overdue notice');
    expect(notice.text).toBe(
      '[Fushun Power] Dear L* L** (account 21******89), your electricity bill of CNY 1,234.50 (due 15 Jul 2024) is still unpaid. ' +
        'Late fee so far: CNY 1.23; total due: CNY 1,235.73. This is the last automatic reminder; if it stays unpaid, your community manager will contact you. ' +
        'Pay via the State Grid app, WeChat Pay or Alipay. Details: https://pay.example/b/42 Questions: call 95598.',
    );
    expect(notice.html).toContain('<html lang="en">');
    expect(notice.html).toContain('<a href="https://pay.example/b/42"');
  });

  it('states the suspension date and refuses a suspension notice without one', () => {
    expect(renderNotice('suspension_notice', fields()).text).toContain('如在2024年8月20日前仍未缴清，我公司将自2024年8月20日起中止供电');
    expect(() => renderNotice('suspension_notice', fields({ suspensionDate: undefined }))).toThrow(/suspensionDate/);
  });

  it('promises reconnection within the service commitment and asks for no payment', () => {
    const notice = renderNotice('reconnect', fields({ reconnectWithinHours: 24 }));
    expect(notice.text).toContain('我们将在24小时内为您恢复供电');
    expect(notice.text).not.toContain('缴费方式');
  });

  it('never shows the full customer number or name, and escapes HTML, in every step and locale', () => {
    const f = fields({ customerName: '<b>张三明</b>', customerNumber: '2100998877' });
    for (const step of NOTICE_STEPS) {
      for (const locale of ['zh', 'en'] as const) {
        const notice = renderNotice(step, f, locale);
        for (const out of [notice.text, notice.html, notice.speech]) {
          expect(out).not.toContain('2100998877');
          expect(out).not.toContain('三明');
        }
        expect(notice.html).not.toContain('<b>');
        expect(notice.html).toContain('21******77');
      }
    }
  });

  it('refuses a bill link that is not http(s)', () => {
    expect(() => renderNotice('reminder', fields({ billUrl: 'javascript:alert(1)' }))).toThrow(/http\(s\) URL/);
  });
});
