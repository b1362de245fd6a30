import { Alert, Descriptions, List, Space, Spin, Tag, Typography } from 'antd';
import { useApi } from '../api.ts';
import { useT, isMessageKey } from '../i18n.tsx';

export interface CustomerDetail {
  id: number; number: string; name: string; kind: string; category: string; tariffCode: string; billingCycle: string;
  orgPath: string; address: string; status: string; contractCapacityKva: number | null;
  contacts: { id: number; kind: string; value: string; status: string }[];
  channels: { channel: string; contactId: number; priority: number; consentedAt: string; withdrawnAt: string | null }[];
  meters: unknown[];
}

/** The customer card: account, contacts (masked for roles that do not contact customers) and agreed channels. */
export function CustomerCard({ number, compact = false }: { number: string; compact?: boolean }) {
  const { t, lang } = useT();
  const c = useApi<CustomerDetail>(`/customers/${number}`);
  if (c.error) return <Alert type="error" message={c.error.message} />;
  if (!c.data) return <Spin />;
  const d = c.data;
  const contactOf = new Map(d.contacts.map((k) => [k.id, k]));
  const channelName = (ch: string) => (isMessageKey(ch) ? t(ch) : ch);
  return (
    <Space orientation="vertical" style={{ width: '100%' }} data-testid="customer-card">
      <Descriptions size="small" column={compact ? 1 : 2} bordered>
        <Descriptions.Item label={t('customerNumber')}><span data-testid="card-number">{d.number}</span></Descriptions.Item>
        <Descriptions.Item label={t('name')}><span data-testid="card-name">{d.name}</span></Descriptions.Item>
        <Descriptions.Item label={t('address')}>{d.address}</Descriptions.Item>
        <Descriptions.Item label={t('tariff')}>{d.tariffCode} · {d.billingCycle}</Descriptions.Item>
        <Descriptions.Item label={t('status')}><Tag>{d.status}</Tag></Descriptions.Item>
      </Descriptions>
      <Typography.Text strong>{t('channels')}</Typography.Text>
      <List
        size="small" bordered dataSource={d.channels.filter((a) => !a.withdrawnAt).sort((a, b) => a.priority - b.priority)}
        locale={{ emptyText: t('noData') }}
        renderItem={(a) => (
          <List.Item>
            <Space><Tag color="green">{a.priority}</Tag>{channelName(a.channel)}<Typography.Text code>{contactOf.get(a.contactId)?.value}</Typography.Text>
              <Tag>{contactOf.get(a.contactId)?.status}</Tag></Space>
            <Typography.Text type="secondary">{new Date(a.consentedAt).toLocaleDateString(lang === 'zh' ? 'zh-CN' : 'en-US')}</Typography.Text>
          </List.Item>
        )}
      />
      <Typography.Text strong>{t('contacts')}</Typography.Text>
      <Space wrap>{d.contacts.map((k) => <Tag key={k.id}>{k.kind}: {k.value}</Tag>)}</Space>
    </Space>
  );
}
