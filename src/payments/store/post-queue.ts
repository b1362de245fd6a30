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
      const batch = this.waiting.splice(0, this.opts.maxBatch);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        if (this.waiting.length) this.schedule();
      });
    }
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
