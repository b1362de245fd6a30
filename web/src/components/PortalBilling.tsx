import { useMemo, useState } from 'react';
import { Alert, App, Button, Descriptions, Empty, Modal, Space, Spin, Table, Tag, Typography } from 'antd';
import { api, ApiError, useApi } from '../api.ts';
import { useT } from '../i18n.tsx';
import { Chart } from './Chart.tsx';
import { BillDocument } from './BillDocument.tsx';

interface DailyReading { date: string; totalKwh: string | null; usedKwh: string | null; quality: string }
interface StatementLine { billId: number | null; billNo: string; kind: string; period: string | null; issuedOn: string; dueDate: string; amount: string; outstanding: string; daysOverdue: number; lateFee: string; totalDue: string }
interface Statement { asOf: string; lines: StatementLine[]; outstanding: string; lateFee: string; prepaid: string; totalDue: string }

/** Daily usage (日用电量) from the meter's daily frozen readings, last 30 days. */
export function UsageChart({ meterAddress }: { meterAddress: string }) {
  const { lang } = useT();
  const r = useApi<{ items: DailyReading[] }>(`/meters/${meterAddress}/readings`);
  const option = useMemo(() => ({
    tooltip: { trigger: 'axis' }, grid: { left: 48, right: 16, top: 24, bottom: 28 },
    xAxis: { type: 'category', data: (r.data?.items ?? []).map((d) => d.date.slice(5)) },
    yAxis: { type: 'value', name: 'kWh' },
    series: [{ type: 'bar', name: lang === 'zh' ? '日用电量' : 'Daily use', data: (r.data?.items ?? []).map((d) => (d.usedKwh === null ? null : Number(d.usedKwh))), itemStyle: { color: '#00706b' } }],
  }), [r.data, lang]);
  if (r.error) return <Alert type="error" message={r.error.message} />;
  if (!r.data) return <Spin />;
  if (!r.data.items.length) return <Empty />;
  return <Chart option={option} height={260} testId="usage-chart" />;
}

/** What the customer owes, bill by bill with late fees, and paying it through the payments API (portal channel). */
export function BillsAndPay({ number, onPaid }: { number: string; onPaid: () => void }) {
  const { lang } = useT();
  const zh = lang === 'zh';
  const { message } = App.useApp();
  const s = useApi<Statement>(`/customers/${number}/statement`);
  const [confirm, setConfirm] = useState<{ reference: string; amount: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const pay = async () => {
    if (!confirm) return;
    setBusy(true);
    try {
      // the reference is fixed when the dialog opens, so a double submit posts once
      await api('/payments', { method: 'POST', body: { channel: 'portal', reference: confirm.reference, customerNumber: number, amount: confirm.amount, currency: 'CNY' } });
      message.success(zh ? '缴费成功' : 'Payment received');
      setConfirm(null);
      s.reload();
      onPaid();
    } catch (e) {
      message.error(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  if (s.error) return <Alert type="error" message={s.error.message} />;
  if (!s.data) return <Spin />;
  const d = s.data;
  return (
    <Space orientation="vertical" style={{ width: '100%' }}>
      <Descriptions size="small" bordered column={{ xs: 1, sm: 2, md: 4 }}>
        <Descriptions.Item label={zh ? '欠费' : 'Outstanding'}>¥{d.outstanding}</Descriptions.Item>
        <Descriptions.Item label={zh ? '违约金' : 'Late fee'}>¥{d.lateFee}</Descriptions.Item>
        <Descriptions.Item label={zh ? '预存' : 'Prepaid'}>¥{d.prepaid}</Descriptions.Item>
        <Descriptions.Item label={zh ? '应缴合计' : 'Total due'}><Typography.Text strong data-testid="total-due">¥{d.totalDue}</Typography.Text></Descriptions.Item>
      </Descriptions>
      <Table<StatementLine> rowKey="billNo" size="small" dataSource={d.lines} pagination={false} data-testid="statement-table"
        columns={[
          { title: zh ? '账单号' : 'Bill', dataIndex: 'billNo' },
          { title: zh ? '账期' : 'Period', dataIndex: 'period' },
          { title: zh ? '到期日' : 'Due', dataIndex: 'dueDate' },
          { title: zh ? '金额' : 'Amount', dataIndex: 'amount', render: (v: string) => `¥${v}` },
          { title: zh ? '未缴' : 'Outstanding', dataIndex: 'outstanding', render: (v: string) => `¥${v}` },
          { title: zh ? '逾期天数' : 'Days overdue', dataIndex: 'daysOverdue', render: (v: number) => (v > 0 ? <Tag color="red">{v}</Tag> : 0) },
          { title: zh ? '违约金' : 'Late fee', dataIndex: 'lateFee', render: (v: string) => `¥${v}` },
        ]} />
      <Button type="primary" size="large" disabled={!(Number(d.totalDue) > 0)} data-testid="pay-open"
        onClick={() => setConfirm({ reference: `portal-${number}-${crypto.randomUUID()}`, amount: d.totalDue })}>
        {zh ? `缴费 ¥${d.totalDue}` : `Pay ¥${d.totalDue}`}
      </Button>
      <Modal open={!!confirm} onCancel={() => setConfirm(null)} onOk={pay} confirmLoading={busy} okText={zh ? '确认缴费' : 'Pay now'}
        okButtonProps={{ 'data-testid': 'pay-confirm' } as Record<string, string>} title={zh ? '网上缴费' : 'Pay online'}>
        <Typography.Paragraph>{zh ? '缴费金额' : 'Amount'}: <b>¥{confirm?.amount}</b></Typography.Paragraph>
      </Modal>
    </Space>
  );
}

interface BillSummary { id: number; billNo: string; period: string; consumptionKwh: string; amount: string; issuedOn: string | null; dueDate: string | null; status: string }

/** Released bills with their electronic bill document. */
export function BillList({ number }: { number: string }) {
  const { lang } = useT();
  const zh = lang === 'zh';
  const bills = useApi<{ items: BillSummary[]; total: number }>(`/customers/${number}/bills`, { limit: 24 });
  const [doc, setDoc] = useState<number | null>(null);
  if (bills.error) return <Alert type="error" message={bills.error.message} />;
  return (
    <>
      <Table<BillSummary> rowKey="id" size="small" loading={bills.loading} dataSource={bills.data?.items ?? []} pagination={false} data-testid="bills-table"
        columns={[
          { title: zh ? '账期' : 'Period', dataIndex: 'period' },
          { title: 'kWh', dataIndex: 'consumptionKwh' },
          { title: zh ? '金额' : 'Amount', dataIndex: 'amount', render: (a: string) => `¥${a}` },
          { title: zh ? '到期日' : 'Due', dataIndex: 'dueDate' },
          { title: '', key: 'doc', render: (_: unknown, b: BillSummary) => <a onClick={() => setDoc(b.id)} data-testid={`bill-doc-${b.id}`}>{zh ? '电子账单' : 'E-bill'}</a> },
        ]} />
      <BillDocument billId={doc} onClose={() => setDoc(null)} />
    </>
  );
}
