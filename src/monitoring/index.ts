/** Monitoring (两中心): daily KPI rollups over HQ → province → city → county → station → grid and the teams. */
export { KPIS, METER_STATES, kpiDef, type KpiDef, type KpiUnit } from './domain/kpis.ts';
export { computeKpis, type KpiRunResult } from './store/kpi-rollup.ts';
export { kpiSeries, kpiChildren, kpiTeams, latestKpiDay } from './store/kpi-queries.ts';
export { monitoringRoutes } from './api/routes.ts';
export { registerMonitoringCommands } from './cli.ts';
