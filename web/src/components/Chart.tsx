import { lazy, Suspense } from 'react';
import type { EChartsCoreOption } from 'echarts/core';

const ChartImpl = lazy(() => import('./ChartImpl.tsx'));

/** Charts load ECharts on demand, so numbers paint before the charting library has arrived. */
export function Chart(props: { option: EChartsCoreOption; height?: number; testId?: string }) {
  return (
    <Suspense fallback={<div style={{ height: props.height ?? 260 }} />}>
      <ChartImpl {...props} />
    </Suspense>
  );
}
