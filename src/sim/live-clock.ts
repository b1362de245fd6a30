import { addDays, businessDate, getState, setState, SimulatedClock, type Db, type Logger } from '../platform/index.ts';

const STATE_KEY = 'live_clock';

export interface LiveClockOptions {
  /** Real seconds per simulated day. */
  secondsPerDay: number;
  /** Where a brand-new demo starts (Shanghai date). */
  startDate: string;
  tickMs?: number;
}

interface LiveClockState {
  now: string;
  /** The last business day whose day-end work completed. */
  lastDayDone: string;
}

/**
 * Drives a SimulatedClock at a configurable speed and runs the day-end work each time the business
 * date rolls over. The clock waits while day-end work runs, so a slow day never skips work; the
 * position is persisted so a restart resumes where it stopped.
 */
export class LiveClock {
  readonly clock: SimulatedClock;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private stopping = false;
  /** Set when a stop stopped waiting for the day-end in progress: its result must not move the position. */
  private abandoned = false;
  /** The day whose day-end is running, if one is. */
  private dayInProgress: string | null = null;
  private state: LiveClockState;

  private constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly opts: LiveClockOptions,
    state: LiveClockState,
    /** True when the position came from an earlier run. */
    readonly resumed: boolean,
    private readonly onDayEnd: (day: string) => Promise<void>,
    private readonly onTick: () => Promise<void>,
  ) {
    this.state = state;
    this.clock = new SimulatedClock(state.now);
  }

  static async resume(db: Db, log: Logger, opts: LiveClockOptions, hooks: { onDayEnd: (day: string) => Promise<void>; onTick?: () => Promise<void> }): Promise<LiveClock> {
    const saved = await getState<LiveClockState>(db, STATE_KEY);
    // a new clock stands at 08:00 of the start date and first closes the day before it (yesterday's
    // readings, KPIs), so the monitoring center has figures once that first day-end is done
    const state = saved ?? { now: new Date(`${opts.startDate}T08:00:00+08:00`).toISOString(), lastDayDone: addDays(opts.startDate, -2) };
    return new LiveClock(db, log, opts, state, saved !== undefined, hooks.onDayEnd, hooks.onTick ?? (async () => undefined));
  }

  start(): void {
    this.stopping = false;
    const tickMs = this.opts.tickMs ?? 250;
    const simMsPerTick = (86_400_000 / (this.opts.secondsPerDay * 1000)) * tickMs;
    this.timer = setInterval(() => void this.tick(simMsPerTick), tickMs);
  }

  private async tick(simMs: number): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      // finish every whole day behind the clock before moving on
      while (!this.stopping && businessDate(this.clock.now()) > addDays(this.state.lastDayDone, 1)) {
        const day = addDays(this.state.lastDayDone, 1);
        this.dayInProgress = day;
        await this.onDayEnd(day);
        this.dayInProgress = null;
        if (this.abandoned) return;
        this.state.lastDayDone = day;
        await this.persist();
      }
      // a stop requested during the day-end leaves the clock where the finished day left it
      if (this.stopping) return;
      this.clock.advance(simMs);
      await this.onTick();
      await this.persist();
    } catch (err) {
      if (this.abandoned) this.log.info({ err: (err as Error).message }, 'the work cut short by the stop ended; a day-end left unfinished runs again on the next start');
      else this.log.error({ err }, 'live clock tick failed; retrying on the next tick');
    } finally {
      this.dayInProgress = null;
      this.busy = false;
    }
  }

  private async persist(): Promise<void> {
    this.state.now = this.clock.now().toISOString();
    await setState(this.db, STATE_KEY, this.state);
  }

  get lastDayDone(): string {
    return this.state.lastDayDone;
  }

  /**
   * Stops the clock and persists its position. A day-end in progress gets `graceMs` to finish; after
   * that it is left behind (the caller then closes the services and the database under it) and the day
   * stays not done, so the next start runs it again: every step of the day-end schedule is idempotent.
   * A large province's day-end takes far longer than anyone waits for Ctrl-C.
   */
  async stop(graceMs = 3000): Promise<{ leftBehind: boolean; abandonedDay?: string }> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const until = performance.now() + graceMs;
    while (this.busy && performance.now() < until) await new Promise((r) => setTimeout(r, 50));
    if (this.busy) this.abandoned = true;
    await this.persist();
    return { leftBehind: this.abandoned, abandonedDay: (this.abandoned && this.dayInProgress) || undefined };
  }
}
