import { Alert, Card, Select, Space, Switch, Table, Tabs, Tag, Typography } from 'antd';
import { useApi, type Page } from '../api.ts';
import { useT } from '../i18n.tsx';
import { setQuery, useRoute } from '../router.ts';

interface Order {
  id: number; externalRef: string; kind: string; status: string; callerName: string; address: string; description: string;
  receivedAt: string; nextDueAt: string | null; remainingMinutes: number | null; overdue: boolean; resolvedOnTime: boolean | null; escalationLevel: number;
}
interface Application {
  id: number; externalRef: string; type: string; status: string; applicantName: string; receivedAt: string; currentStep: string | null;
  currentStepDueOn: string | null; overdue: boolean; workingDaysUsed: number | null; totalLimitWorkingDays: number;
}
interface Meter { id: number; asset_no: string; comm_address: string; meter_type: string; state: string; transformer_area_code: string | null; installed_on: string | null; rotation_due_on: string; org_path: string }

const PAGE_SIZE = 20;
const ORDER_KINDS = ['fault_repair', 'consultation', 'complaint', 'report', 'opinion', 'service_request', 'chaser'];
const METER_STATES = ['arrived', 'verified', 'verify_failed', 'in_stock', 'dispatched', 'installed', 'removed', 'scrapped'];

/** Minutes left on a time-limit clock, or how far past it: the clock 95598 and new connections are judged by. */
function Clock({ minutes, overdue, lang }: { minutes: number | null; overdue: boolean; lang: 'zh' | 'en' }) {
  if (minutes === null) return <Tag>—</Tag>;
  const m = Math.abs(minutes);
  const span = m >= 1440 ? `${Math.floor(m / 1440)}d ${Math.floor((m % 1440) / 60)}h` : `${Math.floor(m / 60)}h ${m % 60}m`;
  return <Tag color={overdue ? 'red' : m < 120 ? 'orange' : 'green'}>{overdue ? (lang === 'zh' ? `超时 ${span}` : `late ${span}`) : (lang === 'zh' ? `剩余 ${span}` : `${span} left`)}</Tag>;
}

/** Service (客户服务): 95598 work orders and new-connection applications with their time-limit clocks; meter assets. */
export default function Service() {
  const { t, lang } = useT();
  const zh = lang === 'zh';
  const q = useRoute().query;
  const tab = q.get('tab') ?? 'orders';
  const offset = Number(q.get('offset') ?? 0);
  const kind = q.get('kind') ?? undefined;
  const overdue = q.get('overdue') === 'true' ? true : undefined;
  const state = q.get('state') ?? undefined;
  const orders = useApi<Page<Order>>(tab === 'orders' ? '/orders' : null, { kind, overdue, limit: PAGE_SIZE, offset });
  const apps = useApi<Page<Application>>(tab === 'connections' ? '/connections' : null, { overdue, limit: PAGE_SIZE, offset });
  const meters = useApi<Page<Meter>>(tab === 'assets' ? '/meters' : null, { state, rotationDue: q.get('rotation') === 'true' || undefined, limit: PAGE_SIZE, offset });
  const paging = (total?: number) => ({ current: Math.floor(offset / PAGE_SIZE) + 1, pageSize: PAGE_SIZE, total: total ?? 0, showSizeChanger: false });
  const onPage = (p: { current?: number }) => setQuery({ offset: ((p.current ?? 1) - 1) * PAGE_SIZE });
  const error = orders.error ?? apps.error ?? meters.error;
  const overdueSwitch = <Space><Switch size="small" checked={!!overdue} onChange={(v) => setQuery({ overdue: v ? 'true' : undefined, offset: 0 })} />{zh ? '仅超时' : 'overdue only'}</Space>;
  return (
    <Card size="small" title={t('service')}>
      {error && <Alert type="error" message={error.message} style={{ marginBottom: 12 }} />}
      <Tabs activeKey={tab} onChange={(k) => setQuery({ tab: k, offset: 0 })} items={[
        {
          key: 'orders', label: zh ? '95598工单' : '95598 orders',
          children: (
            <Space orientation="vertical" style={{ width: '100%' }}>
              <Space wrap>
                <Select allowClear placeholder={zh ? '类型' : 'Kind'} style={{ width: 180 }} value={kind} onChange={(v) => setQuery({ kind: v, offset: 0 })} options={ORDER_KINDS.map((k) => ({ value: k, label: k }))} />
                {overdueSwitch}
              </Space>
              <Table<Order> rowKey="id" size="small" loading={orders.loading} dataSource={orders.data?.items ?? []} data-testid="orders-table"
                columns={[
                  { title: zh ? '工单号' : 'Order', dataIndex: 'externalRef' },
                  { title: zh ? '类型' : 'Kind', dataIndex: 'kind', render: (k: string) => <Tag>{k}</Tag> },
                  { title: t('status'), dataIndex: 'status' },
                  { title: zh ? '来电人' : 'Caller', dataIndex: 'callerName', responsive: ['md'] },
                  { title: zh ? '诉求' : 'Request', dataIndex: 'description', responsive: ['lg'] },
                  { title: zh ? '时限' : 'Time limit', key: 'clock', render: (_: unknown, o: Order) => (o.remainingMinutes === null
                    ? <Tag color={o.resolvedOnTime === false ? 'red' : 'green'}>{o.resolvedOnTime === false ? (zh ? '超时办结' : 'resolved late') : (zh ? '按时办结' : 'on time')}</Tag>
                    : <Clock minutes={o.remainingMinutes} overdue={o.overdue} lang={lang} />) },
                ]}
                pagination={paging(orders.data?.total)} onChange={onPage} />
            </Space>
          ),
        },
        {
          key: 'connections', label: zh ? '业扩报装' : 'New connections',
          children: (
            <Space orientation="vertical" style={{ width: '100%' }}>
              {overdueSwitch}
              <Table<Application> rowKey="id" size="small" loading={apps.loading} dataSource={apps.data?.items ?? []} data-testid="connections-table"
                columns={[
                  { title: zh ? '申请号' : 'Application', dataIndex: 'externalRef' },
                  { title: zh ? '类型' : 'Type', dataIndex: 'type' },
                  { title: zh ? '申请人' : 'Applicant', dataIndex: 'applicantName' },
                  { title: zh ? '当前环节' : 'Current step', dataIndex: 'currentStep', render: (s: string | null, a) => (s ? <span>{s} <Typography.Text type="secondary">≤ {a.currentStepDueOn}</Typography.Text></span> : a.status) },
                  { title: zh ? '工作日 已用/时限' : 'Working days used / limit', key: 'wd', render: (_: unknown, a: Application) => (
                    <Tag color={a.overdue ? 'red' : 'green'}>{a.workingDaysUsed ?? 0} / {a.totalLimitWorkingDays}</Tag>) },
                ]}
                pagination={paging(apps.data?.total)} onChange={onPage} />
            </Space>
          ),
        },
        {
          key: 'assets', label: zh ? '计量资产' : 'Meter assets',
          children: (
            <Space orientation="vertical" style={{ width: '100%' }}>
              <Space wrap>
                <Select allowClear placeholder={t('status')} style={{ width: 160 }} value={state} onChange={(v) => setQuery({ state: v, offset: 0 })} options={METER_STATES.map((s) => ({ value: s, label: s }))} />
                <Space><Switch size="small" checked={q.get('rotation') === 'true'} onChange={(v) => setQuery({ rotation: v ? 'true' : undefined, offset: 0 })} />{zh ? '到期轮换' : 'rotation due'}</Space>
              </Space>
              <Table<Meter> rowKey="id" size="small" loading={meters.loading} dataSource={meters.data?.items ?? []} data-testid="meters-table"
                columns={[
                  { title: zh ? '资产编号' : 'Asset no', dataIndex: 'asset_no' },
                  { title: zh ? '通信地址' : 'Address', dataIndex: 'comm_address', responsive: ['md'] },
                  { title: zh ? '类型' : 'Type', dataIndex: 'meter_type', responsive: ['md'] },
                  { title: t('status'), dataIndex: 'state', render: (s: string) => <Tag>{s}</Tag> },
                  { title: zh ? '台区' : 'Area', dataIndex: 'transformer_area_code' },
                  { title: zh ? '轮换到期' : 'Rotation due', dataIndex: 'rotation_due_on' },
                ]}
                pagination={paging(meters.data?.total)} onChange={onPage} />
            </Space>
          ),
        },
      ]} />
    </Card>
  );
}
