import PDFDocument from 'pdfkit';
import type { BillLineRow, BillRow } from '../store/bills.repository.ts';
import { KIND_LABEL, lineLabel } from '../domain/labels.ts';

export interface BillDocumentView {
  bill: BillRow;
  lines: BillLineRow[];
  customer: { number: string; name: string; address: string };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** How to pay: the channels a customer can use, printed on every bill. */
const HOW_TO_PAY_ZH = ['网上国网 App 或国网辽宁电力微信公众号', '银行代扣、网银及支付宝/微信生活缴费', '供电营业厅柜台'];

/** Whether a line prices only part of the period (a tariff or price change, or a new tier year, inside it). */
const isPartial = (b: BillRow, l: BillLineRow) => l.segment_start !== b.period_start || l.segment_end !== b.period_end;

/** How a split period was rated: the stated choice printed on a bill with partial lines. */
export const SPLIT_NOTE: [string, string] = [
  '本期内电价变更(含用电类别变更)、电价调整或阶梯年度切换:本期电量(及月阶梯基数、基本电费)按各时段天数占本期天数的比例分摊,各时段按其适用电价计费。',
  'The tariff or its prices changed, or a tier year began, within the period: consumption (and monthly tier limits, basic charge) is split between the parts in proportion to their days, each part priced at its own rates.',
];

/** The electronic bill (电子账单) in Chinese, a self-contained HTML page. */
export function billHtml(v: BillDocumentView): string {
  const b = v.bill;
  const split = v.lines.some((l) => isPartial(b, l));
  const rows = v.lines.map((l) => `<tr><td>${esc(lineLabel(l, 'zh'))}${isPartial(b, l) ? ` (${l.segment_start} 至 ${l.segment_end})` : ''}</td><td class="n">${l.quantity}</td><td class="n">${l.unit_price}</td><td class="n">${l.amount}</td></tr>`).join('');
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>${esc(KIND_LABEL[b.kind]![0])} ${esc(b.bill_no)}</title>
<style>body{font-family:"PingFang SC","Microsoft YaHei",sans-serif;max-width:720px;margin:2em auto;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:4px 8px}.n{text-align:right}
.total{font-size:1.4em;font-weight:bold}</style></head>
<body>
<h1>国网辽宁省电力有限公司 ${esc(KIND_LABEL[b.kind]![0])}</h1>
<p>账单编号:${esc(b.bill_no)}<br>户号:${esc(v.customer.number)}<br>户名:${esc(v.customer.name)}<br>用电地址:${esc(v.customer.address)}</p>
<p>电费年月:${esc(b.period)}<br>计费周期:${b.period_start} 至 ${b.period_end}<br>本期电量:${b.consumption_kwh} 千瓦时</p>
<table><thead><tr><th>项目</th><th class="n">数量</th><th class="n">单价(元)</th><th class="n">金额(元)</th></tr></thead><tbody>${rows}</tbody></table>
${split ? `<p>${esc(SPLIT_NOTE[0])}</p>` : ''}
<p class="total">应缴金额:${b.amount} 元</p>
<p>出账日期:${b.issued_on ?? '待审核'}<br>缴费截止日期:${b.due_date ?? '待审核'}</p>
<h2>缴费方式</h2><ul>${HOW_TO_PAY_ZH.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>
<p>逾期未缴将按规定计收电费违约金。如有疑问请致电 95598。</p>
</body></html>`;
}

/**
 * The same bill as PDF. No CJK font is installed on this host (fc-list :lang=zh is empty), so the
 * PDF uses English labels with the built-in Helvetica; the HTML bill is the Chinese original.
 */
export function billPdf(v: BillDocumentView): Promise<Buffer> {
  const b = v.bill;
  const doc = new PDFDocument({ size: 'A4', margin: 50, info: { Title: `${KIND_LABEL[b.kind]![1]} ${b.bill_no}` } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve) => doc.on('end', () => resolve(Buffer.concat(chunks))));
  doc.fontSize(16).text(`State Grid Liaoning - ${KIND_LABEL[b.kind]![1]}`);
  doc.moveDown().fontSize(10)
    .text(`Bill no: ${b.bill_no}`).text(`Customer no: ${v.customer.number}`)
    .text(`Period: ${b.period} (${b.period_start} to ${b.period_end})`).text(`Consumption: ${b.consumption_kwh} kWh`);
  doc.moveDown();
  for (const l of v.lines) {
    const part = isPartial(b, l) ? ` (${l.segment_start} to ${l.segment_end})` : '';
    doc.text(`${lineLabel(l, 'en')}${part}: ${l.quantity} x ${l.unit_price} = ${l.amount} CNY`);
  }
  if (v.lines.some((l) => isPartial(b, l))) doc.moveDown().text(SPLIT_NOTE[1]);
  doc.moveDown().fontSize(14).text(`Amount due: ${b.amount} CNY`);
  doc.fontSize(10).text(`Issued: ${b.issued_on ?? 'under review'}   Due: ${b.due_date ?? 'under review'}`);
  doc.moveDown().text('How to pay: State Grid app or WeChat account, bank direct debit, online banking, Alipay/WeChat Pay, or any service counter.');
  doc.text('Late payment incurs a daily late fee. Questions: call 95598.');
  doc.end();
  return done;
}
