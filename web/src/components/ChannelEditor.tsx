import { useEffect, useState } from 'react';
import { App, Button, Input, List, Select, Space, Tag, Typography } from 'antd';
import { api, ApiError } from '../api.ts';
import { useT, isMessageKey } from '../i18n.tsx';
import type { CustomerDetail } from './CustomerCard.tsx';

type Channel = 'sms' | 'voice' | 'email' | 'catv';
interface Choice { channel: Channel; value: string; kind?: string }
const ALL: Channel[] = ['sms', 'voice', 'email', 'catv'];

/** Choose and order notification channels; removing one withdraws its consent. Saved as one new consent list. */
export function ChannelEditor({ customer, onSaved }: { customer: CustomerDetail; onSaved: () => void }) {
  const { t } = useT();
  const { message } = App.useApp();
  const contactOf = new Map(customer.contacts.map((k) => [k.id, k]));
  const initial = (): Choice[] => customer.channels.filter((a) => !a.withdrawnAt).sort((a, b) => a.priority - b.priority)
    .map((a) => ({ channel: a.channel as Channel, value: contactOf.get(a.contactId)?.value ?? '', kind: contactOf.get(a.contactId)?.kind }));
  const [list, setList] = useState<Choice[]>(initial);
  const [adding, setAdding] = useState<Choice>({ channel: 'sms', value: '' });
  const [busy, setBusy] = useState(false);
  useEffect(() => setList(initial()), [customer]);
  const free = ALL.filter((c) => !list.some((x) => x.channel === c));
  const name = (c: string) => (isMessageKey(c) ? t(c) : c);

  const move = (i: number) => setList((l) => (i === 0 ? l : [...l.slice(0, i - 1), l[i]!, l[i - 1]!, ...l.slice(i + 1)]));
  const save = async () => {
    setBusy(true);
    try {
      await api(`/customers/${customer.number}/channels`, { method: 'PUT', body: { channels: list.map((x) => ({ channel: x.channel, value: x.value, kind: x.kind })) } });
      message.success(t('saved'));
      onSaved();
    } catch (e) {
      message.error(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Space orientation="vertical" style={{ width: '100%' }} data-testid="channel-editor">
      <List
        size="small" bordered dataSource={list} locale={{ emptyText: t('noData') }}
        renderItem={(x, i) => (
          <List.Item data-testid={`channel-${x.channel}`}
            actions={[
              <Button key="up" size="small" disabled={i === 0} onClick={() => move(i)}>{t('moveUp')}</Button>,
              <Button key="rm" size="small" danger onClick={() => setList((l) => l.filter((_, k) => k !== i))} data-testid={`withdraw-${x.channel}`}>{t('withdraw')}</Button>,
            ]}>
            <Space><Tag color="green">{i + 1}</Tag>{name(x.channel)}<Typography.Text code>{x.value}</Typography.Text></Space>
          </List.Item>
        )}
      />
      {free.length > 0 && (
        <Space.Compact style={{ width: '100%' }}>
          <Select style={{ width: 130 }} value={free.includes(adding.channel) ? adding.channel : free[0]} onChange={(c) => setAdding({ ...adding, channel: c })}
            options={free.map((c) => ({ value: c, label: name(c) }))} data-testid="add-channel-kind" />
          <Input placeholder={t('contactValue')} value={adding.value} onChange={(e) => setAdding({ ...adding, value: e.target.value })} data-testid="add-channel-value" />
          <Button
            disabled={!adding.value.trim()} data-testid="add-channel"
            onClick={() => {
              const channel = free.includes(adding.channel) ? adding.channel : free[0]!;
              setList((l) => [...l, { channel, value: adding.value.trim() }]);
              setAdding({ channel: 'sms', value: '' });
            }}>{t('addChannel')}</Button>
        </Space.Compact>
      )}
      <Button type="primary" loading={busy} onClick={save} data-testid="save-channels">{t('save')}</Button>
    </Space>
  );
}
