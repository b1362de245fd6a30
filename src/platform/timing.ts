/**
 * Wall time per named step, for the figures a schedule reports about itself (the day-end, the
 * simulation): `timed(step, fn)` runs fn and adds its milliseconds to `stepMs[step]`.
 */
export function stepTimer(stepMs: Record<string, number> = {}) {
  return {
    stepMs,
    async timed<T>(step: string, fn: () => Promise<T>): Promise<T> {
      const t0 = performance.now();
      try {
        return await fn();
      } finally {
        stepMs[step] = (stepMs[step] ?? 0) + Math.round(performance.now() - t0);
      }
    },
  };
}
