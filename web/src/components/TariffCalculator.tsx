import { useState } from 'react';
import { Alert, Button, InputNumber, Space, Table, Typography } from 'antd';
import { api, ApiError } from '../api.ts';
import { useT } from '../i18n.tsx';

interface Quote { tariff: string; month: string; kwh: string; amount: string; lines: { label: string; labelEn: string; quantity: string; unitPrice: string; amount: string }[] }

/** Tariff calculator (电费试算): the billing context rates a consumption with the customer's own tariff. */
export function TariffCalculator({ tariffCode }: { tariffCode: string }) {
  const { lang } = useT();
  const zh = lang === 'zh';
  const [kwh, setKwh] = useState<number | null>(200);
  const [quote, setQuote] = useState<Quote | null>(null);
  const [error, setError] = useState<string | null>(null);
  const run = async () => {
    setError(null);
    try {
      setQuote(await api<Quote>(`/tariffs/${tariffCode}/quote`, { method: 'POST', body: { kwh: String(kwh ?? 0) } }));
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };
  return (
    <Space orientation="vertical" style={{ width: '100%' }}>
      <Space.Compact>
        <InputNumber min={0} value={kwh} onChange={setKwh} addonAfter="kWh" data-testid="quote-kwh" />
        <Button type="primary" onClick={run} data-testid="quote-run">{zh ? '试算' : 'Estimate'}</Button>
      </Space.Compact>
      {error && <Alert type="error" message={error} />}
      {quote && (
        <>
          <Typography.Text>{tariffCode} · {quote.month} · {quote.kwh} kWh: <b data-testid="quote-amount">¥{quote.amount}</b></Typography.Text>
          <Table rowKey={(l) => `${l.label}-${l.quantity}`} size="small" pagination={false} dataSource={quote.lines}
            columns={[
              { title: zh ? '项目' : 'Item', key: 'l', render: (_: unknown, l: Quote['lines'][number]) => (zh ? l.label : l.labelEn) },
              { title: 'kWh', dataIndex: 'quantity' },
              { title: zh ? '单价' : 'Price', dataIndex: 'unitPrice' },
              { title: zh ? '金额' : 'Amount', dataIndex: 'amount' },
            ]} />
        </>
      )}
    </Space>
  );
}
