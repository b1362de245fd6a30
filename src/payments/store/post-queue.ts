import type { Clock, Db } from '../../platform/index.ts';
import type { PaymentInput } from '../domain/payment-input.ts';
import { postPayments, type PaymentSource, type PostOutcome } from './payments.repository.ts';

interface Waiting {
  p: PaymentInput;
  actor: string;
  resolve: (o: PostOutcome) => void;
  reject: (e: unknown) => void;
}

export interface PostQueueOptions {
  /** Batches in flight at once (each holds one pooled connection). */
  concurrency: number;
  /** Most postings in one batch. */
  maxBatch: number;
}

const keyOf = (p: PaymentInput) => `${p.channel}\u0000${p.reference}`;

function release(m: Map<string, number>, k: string): void {
  const n = m.get(k)!;
  if (n <= 1) m.delete(k);
  else m.set(k, n - 1);
}

// deadlock_detected, serialization_failure: the whole batch rolled back, nothing posted; safe to run again
const RETRYABLE = new Set(['40P01', '40001']);

/**
 * Group commit for payment postings: postings that arrive while earlier batches are in flight are posted
 * together by one payments_post_many call (one statement, one transaction, one WAL flush), so throughput
 * grows with load instead of each posting paying its own round trips and commit. A posting that finds a
 * free slot goes at once (next event-loop turn), so an idle server adds no delay. Each caller gets its own
 * outcome only after the batch is committed. If a batch fails for another reason than a deadlock, its
 * postings are retried one by one so each caller gets its own answer and one bad row fails only itself.
 */
export class PaymentPostQueue {
  private readonly waiting: Waiting[] = [];
  private inFlight = 0;
  private scheduled = false;
  /** References (channel + reference) and customer numbers in the batches in flight, with their counts. */
  private readonly busyKeys = new Map<string, number>();
  private readonly busyCustomers = new Map<string, number>();
  readonly stats = { batches: 0, postings: 0, largestBatch: 0 };

  constructor(private readonly db: Db, private readonly clock: Clock, private readonly source: PaymentSource,
              private readonly opts: PostQueueOptions = { concurrency: 4, maxBatch: 256 }) {}

  post(p: PaymentInput, actor: string): Promise<PostOutcome> {
    return new Promise<PostOutcome>((resolve, reject) => {
      this.waiting.push({ p, actor, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.opts.concurrency) return;
    this.scheduled = true;
    // collect what arrives in this event-loop turn into the same batch
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.opts.concurrency && this.waiting.length) {
      const batch = this.take();
      if (!batch.length) return; // everything waiting touches a batch in flight: its end pumps again
      const keys = batch.map((w) => keyOf(w.p));
      const customers = batch.map((w) => w.p.customerNumber);
      for (const k of keys) this.busyKeys.set(k, (this.busyKeys.get(k) ?? 0) + 1);
      for (const c of customers) this.busyCustomers.set(c, (this.busyCustomers.get(c) ?? 0) + 1);
      this.inFlight++;
      void this.run(batch).finally(() => {
        for (const k of keys) release(this.busyKeys, k);
        for (const c of customers) release(this.busyCustomers, c);
        this.inFlight--;
        if (this.waiting.length) this.schedule();
      });
    }
  }

  /**
   * The next batch, in arrival order, leaving out postings whose reference or customer is in a batch in
   * flight: those would only wait in the database for that batch's locks (the account row, the unique key)
   * and hold their own batch's locks meanwhile; they go in a later batch, after it. A retry of a reference
   * in flight therefore gets the first posting's stored result as a duplicate, and two payments of one
   * customer are allocated in arrival order. (The database still serialises them if another server
   * process posts the same reference or customer at the same moment.)
   */
  private take(): Waiting[] {
    const batch: Waiting[] = [];
    const rest: Waiting[] = [];
    // a customer or reference held back stays held back for its later postings too (they keep their order)
    const heldCustomers = new Set<string>();
    const heldKeys = new Set<string>();
    const limit = Math.min(this.waiting.length, this.opts.maxBatch * 4);
    for (let i = 0; i < limit; i++) {
      const w = this.waiting[i]!;
      const c = w.p.customerNumber;
      const k = keyOf(w.p);
      if (batch.length < this.opts.maxBatch && !heldCustomers.has(c) && !heldKeys.has(k) && !this.busyKeys.has(k) && !this.busyCustomers.has(c)) batch.push(w);
      else {
        heldCustomers.add(c);
        heldKeys.add(k);
        rest.push(w);
      }
    }
    this.waiting.splice(0, limit, ...rest);
    return batch;
  }

  private async run(batch: Waiting[]): Promise<void> {
    this.stats.batches++;
    this.stats.postings += batch.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
    try {
      const out = await this.postWithRetry(batch);
      batch.forEach((w, i) => w.resolve(out[i]!));
      return;
    } catch (e) {
      if (batch.length === 1) {
        batch[0]!.reject(e);
        return;
      }
    }
    for (const w of batch) {
      try {
        w.resolve((await this.postWithRetry([w]))[0]!);
      } catch (e) {
        w.reject(e);
      }
    }
  }

  private async postWithRetry(batch: Waiting[]): Promise<PostOutcome[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await postPayments(this.db, this.clock.now(), batch.map((w) => ({ p: w.p, actor: w.actor })), this.source);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (!(code && RETRYABLE.has(code) && attempt < 5)) throw e;
      }
    }
  }
}
