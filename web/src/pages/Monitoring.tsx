import { useMemo } from 'react';
import { Alert, Breadcrumb, Card, Col, Row, Segmented, Space, Statistic, Table, Tabs, Tag, Typography } from 'antd';
import type { ColumnsType } from 'antd/es/table';
import { session, useApi, withQuery } from '../api.ts';
import { useT, isMessageKey } from '../i18n.tsx';
import { navigate, setQuery, useRoute } from '../router.ts';
import { hasPage } from '../pages.ts';
import { Chart } from '../components/Chart.tsx';
import { formatCount, formatKpi, listFor, type KpiDef, type KpiValue } from '../kpi.ts';

interface Org { id: number; code: string; name: string; nameEn: string; level: string; path: string }
interface SeriesPoint extends KpiValue { day: string }
interface Subject extends KpiValue { id: number; code: string; name: string; nameEn: string; level: string; kpis: Record<string, KpiValue> }
interface SubjectPage { org: Org; day: string | null; kpi: string; items: Subject[]; total: number }

/** Headline KPIs, in the order the centers read them; shown when the rollup has them. */
const HEADLINE = ['read_success', 'meters_unread', 'reread_open', 'channel_coverage', 'cleared_without_person', 'collection_rate', 'arrears_total', 'households_per_staff', 'tasks_overdue', 'manual_collection_open', 'orders_in_limit', 'connections_in_limit'];
const TABLE_KPIS = ['read_success', 'channel_coverage', 'reread_open', 'collection_rate', 'arrears_total', 'tasks_overdue'];
const PAGE_SIZE = 20;
/** The centers' screens follow the day-end rollups without a reload. */
const REFRESH_MS = 5000;

/** The province overview: KPI cards, a trend per KPI, and the units below worst first, drilling down to the grid. */
export default function Monitoring() {
  const { t, pick, lang } = useT();
  const route = useRoute();
  const user = session.user();
  const orgCode = route.query.get('org') ?? undefined;
  const kpi = route.query.get('kpi') ?? 'read_success';
  const tab = route.query.get('tab') ?? 'children';
  const offset = Number(route.query.get('offset') ?? 0);

  const defs = useApi<{ items: KpiDef[] }>('/kpis/definitions');
  const defOf = useMemo(() => new Map((defs.data?.items ?? []).map((d) => [d.kpi, d])), [defs.data]);
  const series = useApi<{ org: Org; from: string; to: string; series: Record<string, SeriesPoint[]> }>('/kpis', { org: orgCode }, { refreshMs: REFRESH_MS });
  const org = series.data?.org;
  const subjects = useApi<SubjectPage>(org ? (tab === 'teams' ? '/kpis/teams' : '/kpis/children') : null, { org: org?.code, kpi, limit: PAGE_SIZE, offset }, { refreshMs: REFRESH_MS });
  const tree = useApi<{ items: Org[] }>('/org/tree', { maxLevel: 'county' });

  const def = defOf.get(kpi);
  const latest = (k: string): SeriesPoint | undefined => series.data?.series[k]?.at(-1);
  const headline = HEADLINE.filter((k) => series.data?.series[k]?.length);
  const label = (k: string) => { const d = defOf.get(k); return d ? pick(d.name, d.nameEn) : k; };
  const levelName = (l: string) => (isMessageKey(l) ? t(l) : l);

  const openList = (k: string, code: string) => {
    const target = listFor(k);
    if (!user || !hasPage(user.role, target.path)) return;
    navigate(withQuery(target.path, { ...target.query, org: code, day: series.data?.to }));
  };

  const crumbs = useMemo(() => {
    if (!org) return [];
    const byCode = new Map((tree.data?.items ?? []).map((o) => [o.code, o]));
    const codes = org.path.split('/').filter(Boolean);
    const scopeDepth = (user?.orgPath ?? '/').split('/').filter(Boolean).length;
    return codes.slice(Math.max(0, scopeDepth - 1)).map((c) => ({ code: c, unit: c === org.code ? org : byCode.get(c) }));
  }, [org, tree.data, user?.orgPath]);

  const trendOption = useMemo(() => {
    const pts = series.data?.series[kpi] ?? [];
    const ratio = def?.unit === 'ratio';
    return {
      tooltip: { trigger: 'axis' },
      grid: { left: 56, right: 16, top: 24, bottom: 28 },
      xAxis: { type: 'category', data: pts.map((p) => p.day.slice(5)) },
      yAxis: { type: 'value', scale: true, axisLabel: { formatter: ratio ? (v: number) => `${(v * 100).toFixed(1)}%` : undefined } },
      series: [{ type: 'line', name: label(kpi), smooth: true, data: pts.map((p) => (p.value === null ? null : Number(p.value))), areaStyle: { opacity: 0.08 } }],
    };
  }, [series.data, kpi, def, lang]);

  const columns: ColumnsType<Subject> = [
    {
      title: t('name'), dataIndex: 'name', key: 'name',
      render: (_: unknown, s) => (tab === 'teams' || s.level === 'grid'
        ? <span>{pick(s.name, s.nameEn)}</span>
        : <a data-testid={`drill-${s.code}`} onClick={() => setQuery({ org: s.code, offset: 0 })}>{pick(s.name, s.nameEn)}</a>),
    },
    { title: t('level'), dataIndex: 'level', key: 'level', render: (l: string) => <Tag>{levelName(l)}</Tag>, responsive: ['md'] },
    {
      title: <span>{label(kpi)} <Typography.Text type="secondary">({t('worstFirst')})</Typography.Text></span>, key: 'value',
      render: (_: unknown, s) => <a data-testid={`value-${s.code}`} onClick={() => openList(kpi, s.code)}>{formatKpi(def, s.value, lang)}</a>,
    },
    {
      title: `${t('numerator')} / ${t('denominator')}`, key: 'nd', responsive: ['lg'],
      render: (_: unknown, s) => (s.denominator === null ? formatCount(s.numerator, lang) : `${formatCount(s.numerator, lang)} / ${formatCount(s.denominator, lang)}`),
    },
    ...TABLE_KPIS.filter((k) => k !== kpi && (subjects.data?.items ?? []).some((s) => s.kpis[k])).map((k) => ({
      title: <a onClick={() => setQuery({ kpi: k, offset: 0 })}>{label(k)}</a>, key: k, responsive: ['md' as const],
      render: (_: unknown, s: Subject) => formatKpi(defOf.get(k), s.kpis[k]?.value, lang),
    })),
  ];

  if (series.error) return <Alert type="error" message={series.error.message} />;
  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="middle">
      <Space wrap style={{ justifyContent: 'space-between', width: '100%' }}>
        <Breadcrumb
          data-testid="drill-path"
          items={crumbs.map((c) => ({
            key: c.code,
            title: c.code === org?.code ? <b>{c.unit ? pick(c.unit.name, c.unit.nameEn) : c.code}</b>
              : <a onClick={() => setQuery({ org: c.code, offset: 0 })}>{c.unit ? pick(c.unit.name, c.unit.nameEn) : c.code}</a>,
          }))}
        />
        <Typography.Text type="secondary" data-testid="as-of">{t('asOf')}: {series.data?.to ?? '—'}</Typography.Text>
      </Space>
      {series.data && !headline.length && <Alert type="info" message={t('noKpiYet')} />}
      <Row gutter={[12, 12]}>
        {headline.map((k) => {
          const p = latest(k);
          const d = defOf.get(k);
          return (
            <Col key={k} xs={12} sm={8} md={6} xl={4}>
              <Card size="small" hoverable onClick={() => setQuery({ kpi: k, offset: 0 })} data-testid={`kpi-${k}`}
                style={k === kpi ? { borderColor: '#00706b', boxShadow: '0 0 0 1px #00706b' } : undefined}>
                <Statistic title={label(k)} value={formatKpi(d, p?.value, lang)} valueStyle={{ fontSize: 20 }} />
                {p?.denominator !== null && p?.denominator !== undefined && (
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>{formatCount(p.numerator, lang)} / {formatCount(p.denominator, lang)}</Typography.Text>
                )}
              </Card>
            </Col>
          );
        })}
      </Row>
      {headline.length > 0 && (
        <Card size="small" title={`${t('trend')}: ${label(kpi)}`}
          extra={org && user && hasPage(user.role, listFor(kpi).path) ? <a onClick={() => openList(kpi, org.code)}>{t('openList')}</a> : null}>
          <Chart option={trendOption} testId="trend-chart" />
        </Card>
      )}
      <Card size="small">
        <Tabs
          activeKey={tab}
          onChange={(k) => setQuery({ tab: k === 'children' ? undefined : k, offset: 0 })}
          tabBarExtraContent={<Segmented size="small" value={kpi} onChange={(v) => setQuery({ kpi: String(v), offset: 0 })}
            options={headline.slice(0, 4).map((k) => ({ value: k, label: label(k) }))} />}
          items={[{ key: 'children', label: t('children') }, { key: 'teams', label: t('teams') }]}
        />
        <Table<Subject>
          rowKey="id" size="small" columns={columns} loading={subjects.loading}
          dataSource={subjects.data?.items ?? []}
          data-testid="subjects-table"
          pagination={{ current: Math.floor(offset / PAGE_SIZE) + 1, pageSize: PAGE_SIZE, total: subjects.data?.total ?? 0, showSizeChanger: false }}
          onChange={(p) => setQuery({ offset: ((p.current ?? 1) - 1) * PAGE_SIZE })}
        />
      </Card>
    </Space>
  );
}
