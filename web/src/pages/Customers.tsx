import { useState } from 'react';
import { Card, Drawer, Form, Input, Button, Space, Table } from 'antd';
import { useApi, type Page } from '../api.ts';
import { useT } from '../i18n.tsx';
import { setQuery, useRoute } from '../router.ts';
import { CustomerCard } from '../components/CustomerCard.tsx';

interface CustomerRow { id: number; number: string; name: string; category: string; tariffCode: string; billingCycle: string; address: string; status: string }
const PAGE_SIZE = 20;

/** Customer search in the caller's org scope; filtering and paging happen on the server. */
export default function Customers() {
  const { t } = useT();
  const route = useRoute();
  const number = route.query.get('number') ?? undefined;
  const name = route.query.get('name') ?? undefined;
  const offset = Number(route.query.get('offset') ?? 0);
  const [open, setOpen] = useState<string | null>(route.query.get('open'));
  const list = useApi<Page<CustomerRow>>('/customers', { number, name, limit: PAGE_SIZE, offset });
  return (
    <Card size="small" title={t('customers')}>
      <Form layout="inline" initialValues={{ number, name }} onFinish={(v: { number?: string; name?: string }) => setQuery({ number: v.number, name: v.name, offset: 0 })}>
        <Form.Item name="number" label={t('customerNumber')}><Input allowClear data-testid="search-number" /></Form.Item>
        <Form.Item name="name" label={t('name')}><Input allowClear /></Form.Item>
        <Button type="primary" htmlType="submit" data-testid="search-submit">{t('search')}</Button>
      </Form>
      <Table<CustomerRow>
        style={{ marginTop: 12 }} rowKey="id" size="small" loading={list.loading} dataSource={list.data?.items ?? []}
        data-testid="customers-table"
        columns={[
          { title: t('customerNumber'), dataIndex: 'number', render: (n: string) => <a onClick={() => setOpen(n)}>{n}</a> },
          { title: t('name'), dataIndex: 'name' },
          { title: t('tariff'), dataIndex: 'tariffCode', responsive: ['md'] },
          { title: t('cycle'), dataIndex: 'billingCycle', responsive: ['md'] },
          { title: t('address'), dataIndex: 'address', responsive: ['lg'] },
        ]}
        pagination={{ current: Math.floor(offset / PAGE_SIZE) + 1, pageSize: PAGE_SIZE, total: list.data?.total ?? 0, showSizeChanger: false }}
        onChange={(p) => setQuery({ offset: ((p.current ?? 1) - 1) * PAGE_SIZE })}
      />
      <Drawer open={!!open} onClose={() => setOpen(null)} title={t('customerCard')} size={Math.min(640, window.innerWidth)}>
        <Space orientation="vertical" style={{ width: '100%' }}>{open && <CustomerCard number={open} />}</Space>
      </Drawer>
    </Card>
  );
}
