import { Alert, Empty, Space, Spin, Tag, Timeline, Typography } from 'antd';
import { useApi } from '../api.ts';
import { useT, isMessageKey } from '../i18n.tsx';

export interface Attempt { channel: string; attemptNo: number; recipient: string | null; status: string; errorCode: string | null; queuedAt: string; reportedAt: string | null }
export interface Notice {
  id: number; customerNumber: string; step: string; status: string; billNo: string; period: string | null; dueDate: string | null;
  amount: string; lateFee: string; channels: string[]; createdOn: string; finishedAt: string | null; cancelReason: string | null; attempts: Attempt[];
}

export const STEP_NAMES: Record<string, [string, string]> = {
  bill_notice: ['电子账单', 'Bill notice'], reminder: ['缴费提醒', 'Reminder'], overdue_1: ['欠费通知一', 'Overdue notice 1'],
  overdue_2: ['欠费通知二', 'Overdue notice 2'], overdue_3: ['欠费通知三', 'Overdue notice 3'], suspension_notice: ['停电通知', 'Suspension notice'], reconnect: ['复电', 'Reconnect'],
};
export const STATUS_COLORS: Record<string, string> = { delivered: 'green', answered: 'green', sent: 'blue', pending: 'default', sending: 'processing', failed: 'red', cancelled: 'default', no_channel: 'orange', no_answer: 'orange', busy: 'orange' };

/** A customer's whole chase: every notice by step, with each attempt on each channel and its delivery state. */
export function ChaseTimeline({ number, refresh = 0 }: { number: string; refresh?: number }) {
  const { t, lang } = useT();
  const notices = useApi<{ items: Notice[] }>(`/customers/${number}/notices`, { r: refresh || undefined });
  if (notices.error) return <Alert type="error" message={notices.error.message} />;
  if (!notices.data) return <Spin />;
  if (!notices.data.items.length) return <Empty description={t('noData')} />;
  const step = (s: string) => STEP_NAMES[s]?.[lang === 'zh' ? 0 : 1] ?? s;
  return (
    <Timeline
      data-testid="chase-timeline"
      items={notices.data.items.map((n) => ({
        color: n.status === 'cancelled' ? 'gray' : n.status === 'failed' ? 'red' : n.status === 'delivered' ? 'green' : 'blue',
        content: (
          <Space orientation="vertical" size={2} data-testid={`notice-${n.step}`}>
            <Space wrap>
              <Typography.Text strong>{step(n.step)}</Typography.Text>
              <Tag color={STATUS_COLORS[n.status]} data-testid={`notice-status-${n.step}`}>{n.status}</Tag>
              <Typography.Text type="secondary">{n.createdOn} · {n.billNo} · ¥{n.amount}</Typography.Text>
            </Space>
            {n.cancelReason && <Typography.Text type="secondary">{n.cancelReason}</Typography.Text>}
            {n.attempts.map((a) => (
              <Typography.Text key={`${a.channel}-${a.attemptNo}`} style={{ fontSize: 12 }}>
                {isMessageKey(a.channel) ? t(a.channel) : a.channel} #{a.attemptNo} {a.recipient ?? ''} <Tag color={STATUS_COLORS[a.status]}>{a.status}</Tag>{a.errorCode ?? ''}
              </Typography.Text>
            ))}
          </Space>
        ),
      }))}
    />
  );
}
