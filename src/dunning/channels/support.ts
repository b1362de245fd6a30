import type {
  ChannelLogger,
  DeliveryReport,
  OutboundMessage,
  ReportListener,
  SendError,
  SendResult,
} from './types.ts';

export const silentLogger: ChannelLogger = { info() {}, warn() {} };

/** Fans reports out to listeners; a throwing listener is logged and never stops the others. */
export class ReportHub {
  private readonly listeners = new Set<ReportListener>();

  constructor(private readonly logger: ChannelLogger) {}

  add(listener: ReportListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(report: DeliveryReport): void {
    for (const listener of this.listeners) {
      try {
        listener(report);
      } catch (err) {
        this.logger.warn({ err, providerMessageId: report.providerMessageId }, 'report listener failed');
      }
    }
  }
}

/**
 * Keeps a channel from handing one messageKey to its provider twice within the process:
 * a key that is in flight or was accepted returns the first result. A rejected key is
 * forgotten so that the caller may retry it. Durable idempotency lives in the notices outbox.
 */
export class SendDeduper {
  private readonly results = new Map<string, Promise<SendResult>>();

  constructor(private readonly capacity = 200_000) {}

  run(
    messages: readonly OutboundMessage[],
    sendOne: (message: OutboundMessage) => Promise<SendResult>,
  ): Promise<SendResult[]> {
    return Promise.all(
      messages.map((message) => {
        const known = this.results.get(message.messageKey);
        if (known) return known;
        const result = sendOne(message).then((r) => {
          if (!r.accepted) this.results.delete(message.messageKey);
          return r;
        });
        this.remember(message.messageKey, result);
        return result;
      }),
    );
  }

  private remember(key: string, result: Promise<SendResult>): void {
    this.results.set(key, result);
    if (this.results.size > this.capacity) {
      const oldest = this.results.keys().next().value;
      if (oldest !== undefined) this.results.delete(oldest);
    }
  }
}

/** FIFO with O(1) shift: thousands of submits may wait for a window slot. */
export class WaiterQueue {
  private items: Array<(() => void) | undefined> = [];
  private head = 0;

  push(waiter: () => void): void {
    this.items.push(waiter);
  }

  shift(): (() => void) | undefined {
    if (this.head === this.items.length) return undefined;
    const waiter = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return waiter;
  }
}

/** Runs at most `limit` tasks at once; the rest wait in arrival order. */
export class Limiter {
  private running = 0;
  private readonly waiting = new WaiterQueue();

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

export function rejected(messageKey: string, error: SendError): SendResult {
  return { messageKey, accepted: false, error };
}

export function unavailable(messageKey: string, message: string): SendResult {
  return rejected(messageKey, { code: 'CHANNEL_UNAVAILABLE', message, permanent: false });
}

export function invalidRecipient(messageKey: string, message: string): SendResult {
  return rejected(messageKey, { code: 'CHANNEL_INVALID_RECIPIENT', message, permanent: true });
}

export function headerValue(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
