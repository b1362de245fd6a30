import { useState } from 'react';
import { Alert, Card, Col, Row, Spin, Tabs } from 'antd';
import { session, useApi } from '../api.ts';
import { useT } from '../i18n.tsx';
import { setQuery, useRoute } from '../router.ts';
import { CustomerCard, type CustomerDetail } from '../components/CustomerCard.tsx';
import { ChannelEditor } from '../components/ChannelEditor.tsx';
import { ChaseTimeline } from '../components/ChaseTimeline.tsx';
import { BillList, BillsAndPay, UsageChart } from '../components/PortalBilling.tsx';
import { TariffCalculator } from '../components/TariffCalculator.tsx';

interface MeterPoint { comm_address: string; removed_on: string | null }

/** The customer portal: usage, what is owed and paying it, the chase so far, and notification channels. */
export default function Portal() {
  const { t, lang } = useT();
  const zh = lang === 'zh';
  const route = useRoute();
  const number = session.user()?.number ?? '';
  const detail = useApi<CustomerDetail>(`/customers/${number}`);
  const [paidTick, setPaidTick] = useState(0);
  const tab = route.query.get('tab') ?? 'usage';
  if (detail.error) return <Alert type="error" message={detail.error.message} />;
  if (!detail.data) return <Spin />;
  const meter = (detail.data.meters as MeterPoint[]).find((m) => m.removed_on === null);
  return (
    <Tabs
      activeKey={tab} onChange={(k) => setQuery({ tab: k })}
      items={[
        { key: 'usage', label: zh ? '用电量' : 'Usage', children: <Card size="small" title={zh ? '日用电量(近30天)' : 'Daily use, last 30 days'}>{meter ? <UsageChart meterAddress={meter.comm_address} /> : null}</Card> },
        {
          key: 'bills', label: zh ? '账单缴费' : 'Bills & pay',
          children: (
            <Row gutter={[12, 12]}>
              <Col xs={24} lg={14}>
                <Card size="small" title={zh ? '应缴' : 'Amount due'}><BillsAndPay number={number} onPaid={() => setPaidTick((x) => x + 1)} /></Card>
                <Card size="small" title={zh ? '电子账单' : 'Electronic bills'} style={{ marginTop: 12 }}><BillList number={number} /></Card>
              </Col>
              <Col xs={24} lg={10}><Card size="small" title={zh ? '催费记录' : 'Notices'}><ChaseTimeline number={number} refresh={paidTick} /></Card></Col>
            </Row>
          ),
        },
        { key: 'quote', label: zh ? '电费试算' : 'Tariff calculator', children: <Card size="small" title={zh ? '电费试算' : 'Tariff calculator'}><TariffCalculator tariffCode={detail.data.tariffCode} /></Card> },
        {
          key: 'account', label: t('profile'),
          children: (
            <Row gutter={[12, 12]}>
              <Col xs={24} lg={14}><Card size="small" title={t('profile')}><CustomerCard number={number} /></Card></Col>
              <Col xs={24} lg={10}><Card size="small" title={t('channels')}><ChannelEditor customer={detail.data} onSaved={detail.reload} /></Card></Col>
            </Row>
          ),
        },
      ]}
    />
  );
}
