import { useMemo } from 'react';
import { Alert, Card, DatePicker, Select, Space, Table, Tabs, Tag, Typography } from 'antd';
import dayjs from 'dayjs';
import { useApi, type Page } from '../api.ts';
import { useT } from '../i18n.tsx';
import { setQuery, useRoute } from '../router.ts';
import { Chart } from '../components/Chart.tsx';

interface Rate { kind: string; id: number; code: string; name: string; meters: number; read: number; rate: number | null }
interface Success { org: Rate; children: Rate[]; teams: Rate[] }
interface Unread { meterId: number; commAddress: string; customerNumber: string; transformerAreaId: number; teamId: number; lastReadOn: string | null; daysMissing: number | null }
interface TeamLoad { teamId: number; teamCode: string; teamName: string; open: number; oldestAgeDays: number; averageAgeDays: number; closedLast30Days: number }
interface VeeFlag { meterId: number; commAddress: string; readingDate: string; rule: string; reason: string; resolvedAt: string | null; resolution: string | null }

const PAGE_SIZE = 20;
const VEE_RULES = ['reverse', 'spike', 'stuck_register', 'zero_streak', 'tariff_sum', 'clock_error'];
const pct = (r: number | null) => (r === null ? '—' : `${(r * 100).toFixed(2)}%`);

/** Collection (采集): read success by area and team, unread meters, re-read load and VEE flags, for an org and day. */
export default function Collection() {
  const { t, lang } = useT();
  const zh = lang === 'zh';
  const route = useRoute();
  const q = route.query;
  const org = q.get('org') ?? undefined;
  const day = q.get('day') ?? undefined;
  const tab = q.get('tab') ?? 'success';
  const offset = Number(q.get('offset') ?? 0);
  const rule = q.get('rule') ?? undefined;
  const success = useApi<Success>(tab === 'success' ? '/metering/success' : null, { org, day });
  const unread = useApi<Page<Unread>>(tab === 'unread' ? '/metering/unread' : null, { org, day, limit: PAGE_SIZE, offset });
  const reread = useApi<{ day: string; teams: TeamLoad[] }>(tab === 'reread' ? '/metering/reread-tasks' : null, { day });
  const vee = useApi<Page<VeeFlag>>(tab === 'vee' ? '/metering/vee-flags' : null, { day, rule, limit: PAGE_SIZE, offset });
  const paging = (total: number | undefined) => ({ current: Math.floor(offset / PAGE_SIZE) + 1, pageSize: PAGE_SIZE, total: total ?? 0, showSizeChanger: false });
  const onPage = (p: { current?: number }) => setQuery({ offset: ((p.current ?? 1) - 1) * PAGE_SIZE });

  const barOption = useMemo(() => {
    const rows = [...(success.data?.children ?? [])].sort((a, b) => (a.rate ?? 0) - (b.rate ?? 0)).slice(0, 30);
    return {
      tooltip: { trigger: 'axis' }, grid: { left: 120, right: 24, top: 8, bottom: 24 },
      xAxis: { type: 'value', min: 0, max: 1, axisLabel: { formatter: (v: number) => `${Math.round(v * 100)}%` } },
      yAxis: { type: 'category', data: rows.map((r) => r.name), inverse: true },
      series: [{ type: 'bar', data: rows.map((r) => r.rate), itemStyle: { color: '#00706b' } }],
    };
  }, [success.data]);

  const error = success.error ?? unread.error ?? reread.error ?? vee.error;
  const rateColumns = [
    { title: t('name'), dataIndex: 'name', key: 'name' },
    { title: zh ? '采集成功率' : 'Read success', dataIndex: 'rate', key: 'rate', render: pct },
    { title: zh ? '已采/应采' : 'Read / meters', key: 'n', render: (_: unknown, r: Rate) => `${r.read} / ${r.meters}` },
  ];
  return (
    <Card size="small" title={t('collection')} extra={
      <DatePicker value={day ? dayjs(day) : null} placeholder={zh ? '今天' : 'today'} onChange={(d) => setQuery({ day: d ? d.format('YYYY-MM-DD') : undefined, offset: 0 })} data-testid="collection-day" />
    }>
      {error && <Alert type="error" message={error.message} style={{ marginBottom: 12 }} />}
      <Tabs activeKey={tab} onChange={(k) => setQuery({ tab: k, offset: 0 })} items={[
        {
          key: 'success', label: zh ? '采集成功率' : 'Read success',
          children: success.data && (
            <Space orientation="vertical" style={{ width: '100%' }}>
              <Typography.Text data-testid="collection-org-rate">{success.data.org.name}: <b>{pct(success.data.org.rate)}</b> ({success.data.org.read} / {success.data.org.meters})</Typography.Text>
              <Chart option={barOption} height={Math.max(160, Math.min(30, success.data.children.length) * 22 + 40)} />
              <Tabs items={[
                { key: 'c', label: t('children'), children: <Table rowKey="id" size="small" dataSource={success.data.children} columns={rateColumns} pagination={{ pageSize: 20 }} /> },
                { key: 't', label: t('teams'), children: <Table rowKey="id" size="small" dataSource={success.data.teams} columns={rateColumns} pagination={{ pageSize: 20 }} /> },
              ]} />
            </Space>
          ),
        },
        {
          key: 'unread', label: zh ? '未采集电表' : 'Unread meters',
          children: (
            <Space orientation="vertical" style={{ width: '100%' }}>
            <Typography.Text>{zh ? '未采集电表' : 'Unread meters'}: <b data-testid="unread-total">{unread.data?.total ?? '…'}</b></Typography.Text>
            <Table<Unread> rowKey="meterId" size="small" loading={unread.loading} dataSource={unread.data?.items ?? []} data-testid="unread-table"
              columns={[
                { title: zh ? '表地址' : 'Meter address', dataIndex: 'commAddress' },
                { title: t('customerNumber'), dataIndex: 'customerNumber' },
                { title: zh ? '最近采集' : 'Last read', dataIndex: 'lastReadOn', render: (v: string | null) => v ?? '—' },
                { title: zh ? '缺数天数' : 'Days missing', dataIndex: 'daysMissing', render: (v: number | null) => (v === null ? '—' : <Tag color={v > 2 ? 'red' : 'orange'}>{v}</Tag>) },
              ]}
              pagination={paging(unread.data?.total)} onChange={onPage} />
            </Space>
          ),
        },
        {
          key: 'reread', label: zh ? '补抄工单' : 'Re-read tasks',
          children: (
            <Table<TeamLoad> rowKey="teamId" size="small" loading={reread.loading} dataSource={reread.data?.teams ?? []} data-testid="reread-table"
              columns={[
                { title: t('team'), dataIndex: 'teamName' },
                { title: zh ? '在途' : 'Open', dataIndex: 'open' },
                { title: zh ? '最长(天)' : 'Oldest (days)', dataIndex: 'oldestAgeDays' },
                { title: zh ? '平均(天)' : 'Average (days)', dataIndex: 'averageAgeDays' },
                { title: zh ? '近30天完成' : 'Closed, last 30 days', dataIndex: 'closedLast30Days' },
              ]} />
          ),
        },
        {
          key: 'vee', label: zh ? 'VEE 校验' : 'VEE flags',
          children: (
            <Space orientation="vertical" style={{ width: '100%' }}>
              <Select allowClear placeholder={zh ? '规则' : 'Rule'} style={{ width: 200 }} value={rule} onChange={(v) => setQuery({ rule: v, offset: 0 })} options={VEE_RULES.map((r) => ({ value: r, label: r }))} />
              <Table<VeeFlag> rowKey={(r) => `${r.meterId}-${r.readingDate}-${r.rule}`} size="small" loading={vee.loading} dataSource={vee.data?.items ?? []}
                columns={[
                  { title: zh ? '表地址' : 'Meter address', dataIndex: 'commAddress' },
                  { title: t('day'), dataIndex: 'readingDate' },
                  { title: zh ? '规则' : 'Rule', dataIndex: 'rule', render: (r: string) => <Tag color="orange">{r}</Tag> },
                  { title: zh ? '原因' : 'Reason', dataIndex: 'reason' },
                  { title: t('status'), key: 's', render: (_: unknown, r: VeeFlag) => (r.resolvedAt ? <Tag color="green">{r.resolution ?? 'resolved'}</Tag> : <Tag>open</Tag>) },
                ]}
                pagination={paging(vee.data?.total)} onChange={onPage} />
            </Space>
          ),
        },
      ]} />
    </Card>
  );
}
