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
  private state: LiveClockState;

  private constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly opts: LiveClockOptions,
    state: LiveClockState,
    private readonly onDayEnd: (day: string) => Promise<void>,
    private readonly onTick: () => Promise<void>,
  ) {
    this.state = state;
    this.clock = new SimulatedClock(state.now);
  }

  static async resume(db: Db, log: Logger, opts: LiveClockOptions, hooks: { onDayEnd: (day: string) => Promise<void>; onTick?: () => Promise<void> }): Promise<LiveClock> {
    const saved = await getState<LiveClockState>(db, STATE_KEY);
    const state = saved ?? { now: new Date(`${opts.startDate}T08:00:00+08:00`).toISOString(), lastDayDone: addDays(opts.startDate, -1) };
    return new LiveClock(db, log, opts, state, hooks.onDayEnd, hooks.onTick ?? (async () => undefined));
  }

  start(): void {
    const tickMs = this.opts.tickMs ?? 250;
    const simMsPerTick = (86_400_000 / (this.opts.secondsPerDay * 1000)) * tickMs;
    this.timer = setInterval(() => void this.tick(simMsPerTick), tickMs);
  }

  private async tick(simMs: number): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      // finish every whole day behind the clock before moving on
      while (businessDate(this.clock.now()) > addDays(this.state.lastDayDone, 1)) {
        const day = addDays(this.state.lastDayDone, 1);
        await this.onDayEnd(day);
        this.state.lastDayDone = day;
        await this.persist();
      }
      this.clock.advance(simMs);
      await this.onTick();
      await this.persist();
    } catch (err) {
      this.log.error({ err }, 'live clock tick failed; retrying on the next tick');
    } finally {
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

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.busy) await new Promise((r) => setTimeout(r, 50));
    await this.persist();
  }
}
