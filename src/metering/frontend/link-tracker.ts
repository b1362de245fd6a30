import type { Clock, Db, Logger } from '../../platform/index.ts';
import { saveConcentratorLinks, type LinkChange } from './store.ts';

/**
 * Online state of every concentrator, kept in memory and written to `concentrator_link` every few
 * seconds in one statement: a heartbeat costs a map update, not a database round trip.
 */
export class LinkTracker {
  private dirty = new Map<number, LinkChange>();
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly flushMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  login(concentratorId: number, remoteAddress: string): void {
    const now = this.clock.now();
    this.dirty.set(concentratorId, { concentratorId, online: true, lastLoginAt: now, lastSeenAt: now, remoteAddress });
  }

  seen(concentratorId: number): void {
    const now = this.clock.now();
    const d = this.dirty.get(concentratorId);
    if (d) d.lastSeenAt = now;
    else this.dirty.set(concentratorId, { concentratorId, online: true, lastLoginAt: null, lastSeenAt: now, remoteAddress: null });
  }

  offline(concentratorId: number): void {
    const d = this.dirty.get(concentratorId);
    if (d) d.online = false;
    else this.dirty.set(concentratorId, { concentratorId, online: false, lastLoginAt: null, lastSeenAt: null, remoteAddress: null });
  }

  /** Write what changed since the last flush; flushes never overlap. */
  flush(): Promise<void> {
    const changes = [...this.dirty.values()];
    this.dirty.clear();
    this.writing = this.writing.then(() =>
      saveConcentratorLinks(this.db, changes).catch((e: unknown) => {
        this.log.error({ err: e, concentrators: changes.length }, 'front-end: writing concentrator links failed');
        for (const c of changes) if (!this.dirty.has(c.concentratorId)) this.dirty.set(c.concentratorId, c);
      }),
    );
    return this.writing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}
