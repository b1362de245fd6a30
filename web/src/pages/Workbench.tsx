import { useState } from 'react';
import { Alert, App, Button, Card, DatePicker, Drawer, Empty, Input, InputNumber, List, Segmented, Space, Tag, Typography } from 'antd';
import dayjs from 'dayjs';
import { api, ApiError, useApi, type Page } from '../api.ts';
import { useT } from '../i18n.tsx';
import { CustomerCard } from '../components/CustomerCard.tsx';

interface Task {
  id: number; kind: string; status: string; title: string; dueAt: string; overdue: boolean; remainingMinutes: number | null;
  customer: { id: number; number: string | null; name: string | null; address: string | null; mobile: string | null } | null;
  amountOwed: string | null; outcome: Record<string, unknown> | null; closedAt: string | null;
}

const KIND_NAMES: Record<string, [string, string]> = {
  re_read: ['现场补抄', 'On-site re-read'], manual_collection: ['人工催费', 'Manual collection'], contact_verification: ['联系方式核实', 'Contact verification'],
  business_change: ['业务变更代理', 'Business change'], consultation: ['咨询服务', 'Consultation'], area_inspection: ['台区巡视', 'Area inspection'],
  disconnect: ['停电作业', 'Disconnect'], reconnect: ['复电作业', 'Reconnect'], meter_exchange: ['换表', 'Meter exchange'],
};

function dueText(t: Task, lang: 'zh' | 'en'): string {
  const m = Math.abs(t.remainingMinutes ?? 0);
  const span = m >= 1440 ? `${Math.floor(m / 1440)}${lang === 'zh' ? '天' : 'd'}` : m >= 60 ? `${Math.floor(m / 60)}${lang === 'zh' ? '小时' : 'h'}` : `${m}${lang === 'zh' ? '分' : 'min'}`;
  if (t.overdue) return lang === 'zh' ? `超期 ${span}` : `overdue ${span}`;
  return lang === 'zh' ? `剩余 ${span}` : `${span} left`;
}

/** Record the outcome of one task in a few taps; the task is started first when needed. */
function OutcomePanel({ task, onDone }: { task: Task; onDone: () => void }) {
  const { lang } = useT();
  // business time comes from the server (a simulated clock in the demo), never from the phone
  const health = useApi<{ time: string }>('/health');
  const today = dayjs(health.data?.time).add(8, 'hour').toISOString().slice(0, 10);
  const zh = lang === 'zh';
  const { message } = App.useApp();
  const [busy, setBusy] = useState(false);
  const [amount, setAmount] = useState<string>(task.amountOwed ?? '');
  const [promised, setPromised] = useState<dayjs.Dayjs | null>(null);
  const promiseDate = promised ?? dayjs(today).add(3, 'day');
  const [text, setText] = useState('');
  const [kwh, setKwh] = useState<number | null>(null);
  const complete = async (outcome: Record<string, unknown>) => {
    setBusy(true);
    try {
      if (task.status === 'open' || task.status === 'accepted') await api(`/tasks/${task.id}/start`, { method: 'POST', body: {} });
      await api(`/tasks/${task.id}/complete`, { method: 'POST', body: { outcome } });
      message.success(zh ? '已记录' : 'Recorded');
      onDone();
    } catch (e) {
      message.error(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  const big = { size: 'large' as const, block: true, loading: busy };
  if (task.kind === 'manual_collection') {
    return (
      <Space orientation="vertical" style={{ width: '100%' }}>
        <Space.Compact style={{ width: '100%' }}>
          <Input size="large" value={amount} onChange={(e) => setAmount(e.target.value)} addonBefore="¥" data-testid="outcome-amount" />
          <Button {...big} type="primary" style={{ width: 140 }} onClick={() => complete({ result: 'paid_on_site', amount })} data-testid="outcome-paid">{zh ? '现场缴费' : 'Paid on site'}</Button>
        </Space.Compact>
        <Space.Compact style={{ width: '100%' }}>
          <DatePicker size="large" value={promiseDate} onChange={(d) => d && setPromised(d)} style={{ flex: 1 }} />
          <Button {...big} style={{ width: 140 }} onClick={() => complete({ result: 'promise_to_pay', promisedDate: promiseDate.format('YYYY-MM-DD') })} data-testid="outcome-promise">{zh ? '承诺缴费' : 'Promise to pay'}</Button>
        </Space.Compact>
        <Input size="large" placeholder={zh ? '争议原因' : 'Dispute reason'} value={text} onChange={(e) => setText(e.target.value)} />
        <Space style={{ width: '100%' }}>
          <Button size="large" loading={busy} disabled={!text} onClick={() => complete({ result: 'dispute', reason: text })}>{zh ? '有争议' : 'Dispute'}</Button>
          <Button size="large" loading={busy} onClick={() => complete({ result: 'vacant_premises' })}>{zh ? '空置房屋' : 'Vacant'}</Button>
        </Space>
      </Space>
    );
  }
  if (task.kind === 're_read') {
    return (
      <Space.Compact style={{ width: '100%' }}>
        <InputNumber size="large" style={{ flex: 1 }} min={0} step={0.01} value={kwh} onChange={(v) => setKwh(v)} addonAfter="kWh" data-testid="outcome-kwh" />
        <Button {...big} type="primary" style={{ width: 120 }} disabled={kwh === null}
          onClick={() => complete({ readingDate: today, totalKwh: (kwh ?? 0).toFixed(2) })} data-testid="outcome-reading">{zh ? '录入读数' : 'Record'}</Button>
      </Space.Compact>
    );
  }
  if (task.kind === 'contact_verification') {
    return (
      <Space orientation="vertical" style={{ width: '100%' }}>
        <Space.Compact style={{ width: '100%' }}>
          <Input size="large" placeholder={zh ? '核实后的手机号' : 'Verified mobile'} value={text} onChange={(e) => setText(e.target.value)} />
          <Button {...big} type="primary" style={{ width: 120 }} disabled={!text} onClick={() => complete({ result: 'corrected', contact: { kind: 'mobile', value: text } })}>{zh ? '已核实' : 'Verified'}</Button>
        </Space.Compact>
        <Button size="large" loading={busy} onClick={() => complete({ result: 'unreachable' })}>{zh ? '无法联系' : 'Unreachable'}</Button>
      </Space>
    );
  }
  return (
    <Space.Compact style={{ width: '100%' }}>
      <Input size="large" placeholder={zh ? '处理结果' : 'What was done'} value={text} onChange={(e) => setText(e.target.value)} />
      <Button {...big} type="primary" style={{ width: 120 }} disabled={!text}
        onClick={() => complete(task.kind === 'consultation' ? { answer: text } : task.kind === 'area_inspection' ? { findings: text, defects: [] } : { note: text })}>{zh ? '完成' : 'Done'}</Button>
    </Space.Compact>
  );
}

/** The grid manager's day on a phone: open tasks soonest due first, the customer card, and the outcome. */
export default function Workbench() {
  const { t, lang } = useT();
  const [all, setAll] = useState(false);
  const [openId, setOpenId] = useState<number | null>(null);
  const tasks = useApi<Page<Task>>('/me/tasks', { all: all || undefined, limit: 100 });
  const task = tasks.data?.items.find((x) => x.id === openId) ?? null;
  const kindName = (k: string) => (KIND_NAMES[k] ? KIND_NAMES[k]![lang === 'zh' ? 0 : 1] : k);
  if (tasks.error) return <Alert type="error" message={tasks.error.message} />;
  return (
    <div style={{ maxWidth: 560, margin: '0 auto' }}>
      <Space style={{ justifyContent: 'space-between', width: '100%', marginBottom: 8 }}>
        <Typography.Title level={5} style={{ margin: 0 }}>{t('workbench')} <Tag data-testid="task-count">{tasks.data?.total ?? 0}</Tag></Typography.Title>
        <Segmented size="small" value={all ? 'all' : 'open'} onChange={(v) => setAll(v === 'all')}
          options={[{ value: 'open', label: lang === 'zh' ? '待办' : 'Open' }, { value: 'all', label: lang === 'zh' ? '全部' : 'All' }]} />
      </Space>
      <List
        loading={tasks.loading} dataSource={tasks.data?.items ?? []} locale={{ emptyText: <Empty description={t('noData')} /> }}
        renderItem={(x) => (
          <Card size="small" style={{ marginBottom: 8 }} hoverable onClick={() => setOpenId(x.id)} data-testid={`task-${x.id}`}>
            <Space style={{ justifyContent: 'space-between', width: '100%' }}>
              <Tag color={x.kind === 'manual_collection' ? 'volcano' : 'blue'}>{kindName(x.kind)}</Tag>
              <Tag color={x.overdue ? 'red' : x.status === 'done' ? 'green' : 'default'}>{x.closedAt ? x.status : dueText(x, lang)}</Tag>
            </Space>
            <div style={{ marginTop: 6 }}>
              <Typography.Text strong>{x.customer?.name ?? x.title}</Typography.Text>
              {x.amountOwed && <Typography.Text type="danger" style={{ float: 'right' }}>¥{x.amountOwed}</Typography.Text>}
            </div>
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>{x.customer?.address ?? x.title}</Typography.Text>
          </Card>
        )}
      />
      <Drawer open={!!task} onClose={() => setOpenId(null)} placement="bottom" size="85%" title={task ? `${kindName(task.kind)} · ${task.title}` : ''}>
        {task && (
          <Space orientation="vertical" style={{ width: '100%' }} size="middle">
            {task.customer?.mobile && <a href={`tel:${task.customer.mobile}`}><Button block size="large">{task.customer.mobile}</Button></a>}
            {task.status !== 'done' && task.status !== 'cancelled' && task.status !== 'cannot_complete'
              ? <OutcomePanel task={task} onDone={() => { setOpenId(null); tasks.reload(); }} />
              : <Alert type="success" message={JSON.stringify(task.outcome)} />}
            {task.customer?.number && <CustomerCard number={task.customer.number} compact />}
          </Space>
        )}
      </Drawer>
    </div>
  );
}
