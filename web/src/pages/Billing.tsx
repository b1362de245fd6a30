import { useEffect, useState } from 'react';
import { Alert, App, Button, Card, Form, Input, Modal, Progress, Select, Space, Table, Tabs, Tag, Typography } from 'antd';
import { api, ApiError, session, useApi, type Page } from '../api.ts';
import { useT } from '../i18n.tsx';
import { setQuery, useRoute } from '../router.ts';
import { BillDocument } from '../components/BillDocument.tsx';

interface HeldBill {
  id: number; billNo: string; customerNumber: string; customerName: string; cycle: string; period: string; tariffCode: string;
  consumptionKwh: string; amount: string; status: string; readingQuality: string | null; holds: { rule: string; detail: string }[];
}
interface Run { id: number; cycle: string; period: string; status: string; customersTotal: number; billsCreated: number; billsHeld: number; billsReleased: number; progress: number; startedAt: string; finishedAt: string | null }

const PAGE_SIZE = 20;
const CAN_REVIEW = ['admin', 'city_billing_clerk'];

/** Billing (核算): start a cycle's run and follow its progress; the review queue with why each bill is held; release, correct, void. */
export default function Billing() {
  const { t, lang } = useT();
  const zh = lang === 'zh';
  const { message } = App.useApp();
  const q = useRoute().query;
  const tab = q.get('tab') ?? 'review';
  const offset = Number(q.get('offset') ?? 0);
  const sort = q.get('sort') ?? 'amount';
  const rule = q.get('rule') ?? undefined;
  const review = useApi<Page<HeldBill>>(tab === 'review' ? '/billing/review' : null, { limit: PAGE_SIZE, offset, sort, rule });
  const canReview = CAN_REVIEW.includes(session.user()?.role ?? '');
  // a run bills a cycle across the province: started by province-wide staff (HQ or province level) only
  const canRun = canReview && (session.user()?.orgPath ?? '').split('/').filter(Boolean).length <= 2;
  const [doc, setDoc] = useState<number | null>(null);
  const [acting, setActing] = useState<{ bill: HeldBill; action: 'correct' | 'void' } | null>(null);
  const [runId, setRunId] = useState<number | null>(q.get('run') ? Number(q.get('run')) : null);
  const [run, setRun] = useState<Run | null>(null);

  useEffect(() => {
    if (runId === null) return;
    let live = true;
    const poll = async () => {
      const r = await api<Run>(`/billing/runs/${runId}`).catch(() => null);
      if (!live || !r) return;
      setRun(r);
      if (r.status !== 'completed') setTimeout(poll, 1000);
    };
    void poll();
    return () => { live = false; };
  }, [runId]);

  const act = async (bill: HeldBill, action: 'release' | 'correct' | 'void', body: Record<string, string> = {}) => {
    try {
      await api(`/bills/${bill.id}/${action}`, { method: 'POST', body });
      message.success(zh ? '已处理' : 'Done');
      setActing(null);
      review.reload();
    } catch (e) {
      message.error(e instanceof ApiError ? e.message : String(e));
    }
  };
  const startRun = async (v: { cycle: string; period: string }) => {
    try {
      const r = await api<Run>('/billing/runs', { method: 'POST', body: v });
      setRunId(r.id);
      setQuery({ run: r.id });
    } catch (e) {
      message.error(e instanceof ApiError ? e.message : String(e));
    }
  };
  return (
    <Card size="small" title={t('billing')}>
      {review.error && <Alert type="error" message={review.error.message} style={{ marginBottom: 12 }} />}
      <Tabs activeKey={tab} onChange={(k) => setQuery({ tab: k, offset: 0 })} items={[
        {
          key: 'review', label: zh ? '审核队列' : 'Review queue',
          children: (
            <Space orientation="vertical" style={{ width: '100%' }}>
              <Space wrap>
                <Select value={sort} style={{ width: 160 }} onChange={(v) => setQuery({ sort: v, offset: 0 })}
                  options={[{ value: 'amount', label: zh ? '按金额' : 'by amount' }, { value: 'created', label: zh ? '按时间' : 'by time' }, { value: 'customer', label: zh ? '按户号' : 'by customer' }]} />
                <Input.Search allowClear placeholder={zh ? '暂挂规则' : 'Hold rule'} defaultValue={rule} onSearch={(v) => setQuery({ rule: v || undefined, offset: 0 })} style={{ width: 200 }} />
                <Typography.Text type="secondary" data-testid="review-total">{zh ? '待审' : 'Held'}: {review.data?.total ?? 0}</Typography.Text>
              </Space>
              <Table<HeldBill> rowKey="id" size="small" loading={review.loading} dataSource={review.data?.items ?? []} data-testid="review-table"
                columns={[
                  { title: zh ? '账单号' : 'Bill', dataIndex: 'billNo', render: (n: string, b) => <a onClick={() => setDoc(b.id)}>{n}</a> },
                  { title: t('customerNumber'), dataIndex: 'customerNumber' },
                  { title: t('name'), dataIndex: 'customerName', responsive: ['lg'] },
                  { title: 'kWh', dataIndex: 'consumptionKwh' },
                  { title: zh ? '金额' : 'Amount', dataIndex: 'amount', render: (a: string) => `¥${a}` },
                  { title: zh ? '暂挂原因' : 'Held because', dataIndex: 'holds', render: (h: HeldBill['holds']) => h.map((x) => <div key={x.rule}><Tag color="orange">{x.rule}</Tag>{x.detail}</div>) },
                  ...(canReview ? [{
                    title: '', key: 'act', render: (_: unknown, b: HeldBill) => (
                      <Space>
                        <Button size="small" type="primary" onClick={() => act(b, 'release')} data-testid={`release-${b.id}`}>{zh ? '发行' : 'Release'}</Button>
                        <Button size="small" onClick={() => setActing({ bill: b, action: 'correct' })}>{zh ? '更正' : 'Correct'}</Button>
                        <Button size="small" danger onClick={() => setActing({ bill: b, action: 'void' })}>{zh ? '作废' : 'Void'}</Button>
                      </Space>
                    ),
                  }] : []),
                ]}
                pagination={{ current: Math.floor(offset / PAGE_SIZE) + 1, pageSize: PAGE_SIZE, total: review.data?.total ?? 0, showSizeChanger: false }}
                onChange={(p) => setQuery({ offset: ((p.current ?? 1) - 1) * PAGE_SIZE })} />
            </Space>
          ),
        },
        {
          key: 'runs', label: zh ? '核算批次' : 'Billing runs',
          children: (
            <Space orientation="vertical" style={{ width: '100%' }}>
              {canReview && !canRun && (
                <Typography.Text type="secondary">{zh ? '核算批次覆盖全省，由省公司启动；本单位的账单在“审核队列”中复核与发行。' : 'A billing run covers the whole province and is started by the provincial company; review and release your bills in the review queue.'}</Typography.Text>
              )}
              {canRun && (
                <Form layout="inline" onFinish={startRun} initialValues={{ cycle: 'C01' }}>
                  <Form.Item name="cycle" label={t('cycle')}><Select style={{ width: 100 }} options={['C01', 'C11', 'C21'].map((c) => ({ value: c, label: c }))} /></Form.Item>
                  <Form.Item name="period" label={zh ? '账期' : 'Period'} rules={[{ required: true, pattern: /^\d{4}-\d{2}$/ }]}><Input placeholder="2026-01" style={{ width: 110 }} /></Form.Item>
                  <Button type="primary" htmlType="submit">{zh ? '开始核算' : 'Start run'}</Button>
                </Form>
              )}
              {run && (
                <Card size="small" title={`${run.cycle} · ${run.period} · #${run.id}`} data-testid="run-card">
                  <Progress percent={Math.round(run.progress * 100)} status={run.status === 'completed' ? 'success' : 'active'} />
                  <Typography.Text>{run.status} · {zh ? '客户' : 'customers'} {run.customersTotal} · {zh ? '账单' : 'bills'} {run.billsCreated} · {zh ? '暂挂' : 'held'} {run.billsHeld} · {zh ? '已发行' : 'released'} {run.billsReleased}</Typography.Text>
                </Card>
              )}
            </Space>
          ),
        },
      ]} />
      <BillDocument billId={doc} onClose={() => setDoc(null)} />
      <Modal open={!!acting} onCancel={() => setActing(null)} footer={null} title={acting?.action === 'void' ? (zh ? '作废账单' : 'Void bill') : (zh ? '更正账单' : 'Correct bill')} destroyOnHidden>
        {acting && (
          <Form layout="vertical" onFinish={(v: { reason: string; totalKwh?: string }) => act(acting.bill, acting.action, acting.action === 'void' ? { reason: v.reason } : { reason: v.reason, totalKwh: v.totalKwh ?? '' })}>
            {acting.action === 'correct' && <Form.Item name="totalKwh" label="kWh" initialValue={acting.bill.consumptionKwh} rules={[{ required: true }]}><Input /></Form.Item>}
            <Form.Item name="reason" label={zh ? '原因' : 'Reason'} rules={[{ required: true }]}><Input.TextArea rows={2} /></Form.Item>
            <Button type="primary" htmlType="submit" danger={acting.action === 'void'}>{t('save')}</Button>
          </Form>
        )}
      </Modal>
    </Card>
  );
}
