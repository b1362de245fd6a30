import type { Logger } from '../../platform/index.ts';
import type { FrontendReading } from './collector.ts';

/** Stores one batch; says how many rows were stored and how many the ingest quarantined. */
export type StoreBatch = (rows: FrontendReading[]) => Promise<{ stored: number; quarantined: number }>;

export interface ReadingSinkOptions {
  /** Flush when this many rows are buffered. */
  batchRows: number;
  /** Flush at the latest this long after the first row of a batch arrived. */
  flushMs: number;
  /** Batches written at the same time (the database pool is shared with the rest of the process). */
  concurrency: number;
  /** Producers are asked to wait (`whenWritable`) once this many rows are buffered or in flight. */
  highWater: number;
}

/**
 * Buffers readings from every connection and stores them one batch (one statement) at a time, so a
 * province of meters is a few hundred inserts, and a connection never awaits the database to go on
 * reading its socket. A failed batch is logged and its rows counted as failed; nothing retries it
 * here because the collector re-asks for points it does not see stored.
 */
export class ReadingSink {
  private buffer: FrontendReading[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  private inFlightRows = 0;
  private idleWaiters: (() => void)[] = [];
  private writableWaiters: (() => void)[] = [];
  stored = 0;
  quarantined = 0;
  failed = 0;
  batches = 0;

  constructor(
    private readonly store: StoreBatch,
    private readonly opts: ReadingSinkOptions,
    private readonly log: Logger,
  ) {}

  push(rows: FrontendReading[]): void {
    if (!rows.length) return;
    for (const r of rows) this.buffer.push(r);
    if (this.buffer.length >= this.opts.batchRows) this.pump();
    else if (!this.timer) this.timer = setTimeout(() => this.pump(true), this.opts.flushMs);
  }

  get pending(): number {
    return this.buffer.length + this.inFlightRows;
  }

  /** Resolves at once unless too many rows wait: the backpressure a collector honours before asking for more. */
  whenWritable(): Promise<void> {
    if (this.pending < this.opts.highWater) return Promise.resolve();
    return new Promise((resolve) => this.writableWaiters.push(resolve));
  }

  /** Store everything buffered now and resolve when nothing is buffered or in flight. */
  flush(): Promise<void> {
    this.pump(true);
    if (this.buffer.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(force = false): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.inFlight < this.opts.concurrency && (this.buffer.length >= this.opts.batchRows || (force && this.buffer.length))) {
      const batch = this.buffer.splice(0, this.opts.batchRows);
      this.write(batch);
    }
    if (this.buffer.length && !this.timer && this.inFlight < this.opts.concurrency) {
      this.timer = setTimeout(() => this.pump(true), this.opts.flushMs);
    }
  }

  private write(batch: FrontendReading[]): void {
    this.inFlight++;
    this.inFlightRows += batch.length;
    this.store(batch)
      .then(
        (r) => {
          this.stored += r.stored;
          this.quarantined += r.quarantined;
          this.batches++;
        },
        (e: unknown) => {
          this.failed += batch.length;
          this.log.error({ err: e, rows: batch.length }, 'front-end: storing a batch of readings failed');
        },
      )
      .finally(() => {
        this.inFlight--;
        this.inFlightRows -= batch.length;
        // whatever queued up while this batch was written goes next, full or not
        this.pump(this.idleWaiters.length > 0);
        this.wake();
      });
  }

  private wake(): void {
    if (this.pending < this.opts.highWater) for (const w of this.writableWaiters.splice(0)) w();
    if (this.buffer.length === 0 && this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
  }
}
