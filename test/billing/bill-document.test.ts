import { describe, expect, it } from 'vitest';
import { billHtml, type BillLineRow, type BillRow } from '../../src/billing/index.ts';

const bill = { id: 1, bill_no: 'B202602-1', kind: 'bill', period: '2026-02', period_start: '2026-01-01', period_end: '2026-02-01', consumption_kwh: '310.0000', amount: '160.00', issued_on: null, due_date: null } as unknown as BillRow;
const line = (l: Partial<BillLineRow>): BillLineRow => ({
  bill_id: 1, line_no: 10, component: 'energy', register: 'total', tier: 1, tariff_version_id: 1, segment_start: '2026-01-01', segment_end: '2026-02-01',
  quantity: '100.0000', unit_price: '0.500000', amount: '50.00', ...l,
});
const customer = { number: '0100000001', name: '张三', address: '沈阳' };

describe('bill document', () => {
  it('a period split by a price change states the split by days and the dates of each part', () => {
    const html = billHtml({ bill, customer, lines: [line({ segment_end: '2026-01-17' }), line({ line_no: 1610, segment_start: '2026-01-17', unit_price: '0.550000' })] });
    expect(html).toContain('按各时段天数占本期天数的比例分摊');
    expect(html).toContain('(2026-01-01 至 2026-01-17)');
    expect(html).toContain('(2026-01-17 至 2026-02-01)');
  });

  it('a whole-period bill carries no split note', () => {
    expect(billHtml({ bill, customer, lines: [line({})] })).not.toContain('比例分摊');
  });
});
