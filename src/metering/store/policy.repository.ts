import type { Db } from '../../platform/index.ts';

/** Collection, VEE and re-read policy (table metering_policy); numbers stay exact strings where they are decimals. */
export interface MeteringPolicy {
  rereadMissingDays: number;
  lookbackDays: number;
  maxReadingAgeDays: number;
  spikeFactor: string;
  spikeFloorKwh: string;
  spikeHistoryDays: number;
  spikeMinHistory: number;
  stuckDays: number;
  zeroStreakDays: number;
  tariffToleranceKwh: string;
  tariffToleranceRatio: string;
  maxClockDriftS: number;
  estimationAllowed: boolean;
  estimationMaxGapDays: number;
  /** Most kWh a residential meter without a contract capacity can register in a day (the spike rule's ceiling). */
  residentialMaxDailyKwh: string;
}

interface MeteringPolicyRow {
  reread_missing_days: number;
  lookback_days: number;
  max_reading_age_days: number;
  spike_factor: string;
  spike_floor_kwh: string;
  spike_history_days: number;
  spike_min_history: number;
  stuck_days: number;
  zero_streak_days: number;
  tariff_tolerance_kwh: string;
  tariff_tolerance_ratio: string;
  max_clock_drift_s: number;
  estimation_allowed: boolean;
  estimation_max_gap_days: number;
  residential_max_daily_kwh: string;
}

export function meteringPolicyRowToPolicy(r: MeteringPolicyRow): MeteringPolicy {
  return {
    rereadMissingDays: r.reread_missing_days, lookbackDays: r.lookback_days, maxReadingAgeDays: r.max_reading_age_days,
    spikeFactor: r.spike_factor, spikeFloorKwh: r.spike_floor_kwh, spikeHistoryDays: r.spike_history_days, spikeMinHistory: r.spike_min_history,
    stuckDays: r.stuck_days, zeroStreakDays: r.zero_streak_days, tariffToleranceKwh: r.tariff_tolerance_kwh,
    tariffToleranceRatio: r.tariff_tolerance_ratio, maxClockDriftS: r.max_clock_drift_s, estimationAllowed: r.estimation_allowed,
    estimationMaxGapDays: r.estimation_max_gap_days, residentialMaxDailyKwh: r.residential_max_daily_kwh,
  };
}

export async function loadMeteringPolicy(db: Db, id = 'default'): Promise<MeteringPolicy> {
  const row = (await db.selectFrom('metering_policy').selectAll().where('id', '=', id).executeTakeFirstOrThrow()) as MeteringPolicyRow;
  return meteringPolicyRowToPolicy(row);
}

/** Change policy numbers (tests, admin); columns are the snake_case table columns. */
export async function updateMeteringPolicy(db: Db, changes: Partial<MeteringPolicyRow>, id = 'default'): Promise<void> {
  await db.updateTable('metering_policy').set(changes).where('id', '=', id).execute();
}
