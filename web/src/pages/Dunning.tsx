import { useMemo, useState } from 'react';
import { Alert, Card, Input, Select, Space, Table, Tabs, Tag } from 'antd';
import { useApi, type Page } from '../api.ts';
import { useT, isMessageKey } from '../i18n.tsx';
import { setQuery, useRoute } from '../router.ts';
import { Chart } from '../components/Chart.tsx';
import { ChaseTimeline, STATUS_COLORS, STEP_NAMES, type Notice } from '../components/ChaseTimeline.tsx';

interface Health { orgPath: string; channel: string; attempts: number; sent: number; delivered: number; failed: number; pending: number; medianLatencySeconds: number | null; deliveryRate: number | null }
interface Escalation { id: number; kind: string; reason: string; customerNumber: string; orgPath: string; handledBy: string; createdOn: string }

const PAGE_SIZE = 20;
const STEPS = Object.keys(STEP_NAMES);
const STATUSES = ['pending', 'sending', 'sent', 'delivered', 'failed', 'cancelled', 'no_channel'];
const CHANNELS = ['sms', 'voice', 'email', 'catv'] as const;

/** Dunning (催费): notices by step and channel with delivery states, channel health, escalations, a customer's chase. */
export default function Dunning() {
  const { t, lang } = useT();
  const zh = lang === 'zh';
  const q = useRoute().query;
  const tab = q.get('tab') ?? 'notices';
  const offset = Number(q.get('offset') ?? 0);
  const step = q.get('step') ?? undefined;
  const status = q.get('status') ?? undefined;
  const channel = q.get('channel') ?? undefined;
  const kind = q.get('kind') ?? undefined;
  const customer = q.get('customer') ?? undefined;
  const [typed, setTyped] = useState(customer ?? '');
  const notices = useApi<Page<Notice>>(tab === 'notices' ? '/dunning/notices' : null, { step, status, channel, limit: PAGE_SIZE, offset });
  const health = useApi<{ from: string; to: string; items: Health[] }>(tab === 'health' ? '/dunning/channel-health' : null);
  const escalations = useApi<Page<Escalation>>(tab === 'escalations' ? '/dunning/escalations' : null, { kind, limit: PAGE_SIZE, offset });
  const paging = (total?: number) => ({ current: Math.floor(offset / PAGE_SIZE) + 1, pageSize: PAGE_SIZE, total: total ?? 0, showSizeChanger: false });
  const onPage = (p: { current?: number }) => setQuery({ offset: ((p.current ?? 1) - 1) * PAGE_SIZE });
  const stepName = (s: string) => STEP_NAMES[s]?.[zh ? 0 : 1] ?? s;
  const chName = (c: string) => (isMessageKey(c) ? t(c) : c);

  const healthOption = useMemo(() => {
    const per = new Map<string, { delivered: number; failed: number; pending: number }>();
    for (const h of health.data?.items ?? []) {
      const x = per.get(h.channel) ?? { delivered: 0, failed: 0, pending: 0 };
      x.delivered += h.delivered; x.failed += h.failed; x.pending += h.pending;
      per.set(h.channel, x);
    }
    const chans = [...per.keys()];
    return {
      tooltip: { trigger: 'axis' }, legend: {}, grid: { left: 48, right: 16, top: 32, bottom: 24 },
      xAxis: { type: 'category', data: chans.map(chName) }, yAxis: { type: 'value' },
      series: (['delivered', 'failed', 'pending'] as const).map((k) => ({ type: 'bar', stack: 'a', name: k, data: chans.map((c) => per.get(c)![k]) })),
    };
  }, [health.data, lang]);

  const error = notices.error ?? health.error ?? escalations.error;
  return (
    <Card size="small" title={t('dunning')}>
      {error && <Alert type="error" message={error.message} style={{ marginBottom: 12 }} />}
      <Tabs activeKey={tab} onChange={(k) => setQuery({ tab: k, offset: 0 })} items={[
        {
          key: 'notices', label: zh ? '通知' : 'Notices',
          children: (
            <Space orientation="vertical" style={{ width: '100%' }}>
              <Space wrap>
                <Select allowClear placeholder={zh ? '步骤' : 'Step'} style={{ width: 160 }} value={step} onChange={(v) => setQuery({ step: v, offset: 0 })} options={STEPS.map((s) => ({ value: s, label: stepName(s) }))} />
                <Select allowClear placeholder={t('status')} style={{ width: 140 }} value={status} onChange={(v) => setQuery({ status: v, offset: 0 })} options={STATUSES.map((s) => ({ value: s, label: s }))} />
                <Select allowClear placeholder={t('channel')} style={{ width: 140 }} value={channel} onChange={(v) => setQuery({ channel: v, offset: 0 })} options={CHANNELS.map((c) => ({ value: c, label: chName(c) }))} />
              </Space>
              <Table<Notice> rowKey="id" size="small" loading={notices.loading} dataSource={notices.data?.items ?? []} data-testid="notices-table"
                columns={[
                  { title: t('customerNumber'), dataIndex: 'customerNumber', render: (n: string) => <a onClick={() => { setTyped(n); setQuery({ tab: 'timeline', customer: n }); }}>{n}</a> },
                  { title: zh ? '步骤' : 'Step', dataIndex: 'step', render: stepName },
                  { title: t('status'), dataIndex: 'status', render: (s: string) => <Tag color={STATUS_COLORS[s]}>{s}</Tag> },
                  { title: t('channels'), dataIndex: 'channels', render: (c: string[]) => c.map(chName).join(' → ') },
                  { title: zh ? '金额' : 'Amount', dataIndex: 'amount', render: (a: string) => `¥${a}` },
                  { title: t('day'), dataIndex: 'createdOn', responsive: ['md'] },
                ]}
                pagination={paging(notices.data?.total)} onChange={onPage} />
            </Space>
          ),
        },
        {
          key: 'health', label: zh ? '渠道健康' : 'Channel health',
          children: (
            <Space orientation="vertical" style={{ width: '100%' }}>
              <Chart option={healthOption} height={220} />
              <Table<Health> rowKey={(h) => `${h.orgPath}-${h.channel}`} size="small" dataSource={health.data?.items ?? []} loading={health.loading} data-testid="health-table"
                columns={[
                  { title: t('orgUnit'), dataIndex: 'orgPath' },
                  { title: t('channel'), dataIndex: 'channel', render: chName },
                  { title: zh ? '发送' : 'Attempts', dataIndex: 'attempts' },
                  { title: zh ? '送达' : 'Delivered', dataIndex: 'delivered' },
                  { title: zh ? '失败' : 'Failed', dataIndex: 'failed' },
                  { title: zh ? '送达率' : 'Delivery rate', dataIndex: 'deliveryRate', render: (r: number | null) => (r === null ? '—' : `${(r * 100).toFixed(1)}%`) },
                  { title: zh ? '回执中位(秒)' : 'Median receipt (s)', dataIndex: 'medianLatencySeconds', render: (s: number | null) => s ?? '—' },
                ]} />
            </Space>
          ),
        },
        {
          key: 'escalations', label: zh ? '升级处理' : 'Escalations',
          children: (
            <Space orientation="vertical" style={{ width: '100%' }}>
              <Select allowClear placeholder={zh ? '类型' : 'Kind'} style={{ width: 200 }} value={kind} onChange={(v) => setQuery({ kind: v, offset: 0 })}
                options={['manual_collection', 'contact_verification', 'disconnect', 'reconnect'].map((k) => ({ value: k, label: k }))} />
              <Table<Escalation> rowKey="id" size="small" loading={escalations.loading} dataSource={escalations.data?.items ?? []}
                columns={[
                  { title: t('customerNumber'), dataIndex: 'customerNumber', render: (n: string) => <a onClick={() => { setTyped(n); setQuery({ tab: 'timeline', customer: n }); }}>{n}</a> },
                  { title: zh ? '类型' : 'Kind', dataIndex: 'kind', render: (k: string) => <Tag>{k}</Tag> },
                  { title: zh ? '原因' : 'Reason', dataIndex: 'reason' },
                  { title: zh ? '处理方' : 'Handled by', dataIndex: 'handledBy' },
                  { title: t('day'), dataIndex: 'createdOn' },
                ]}
                pagination={paging(escalations.data?.total)} onChange={onPage} />
            </Space>
          ),
        },
        {
          key: 'timeline', label: zh ? '催费轨迹' : 'Chase timeline',
          children: (
            <Space orientation="vertical" style={{ width: '100%' }}>
              <Input.Search placeholder={t('customerNumber')} value={typed} onChange={(e) => setTyped(e.target.value)} onSearch={(v) => setQuery({ customer: v.trim() })} style={{ maxWidth: 320 }} data-testid="timeline-number" />
              {customer && <ChaseTimeline number={customer} />}
            </Space>
          ),
        },
      ]} />
    </Card>
  );
}
