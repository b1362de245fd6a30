import type { Db } from './db.ts';
import type { Clock } from './clock.ts';

export async function audit(
  db: Db,
  clock: Clock,
  entry: { actor: string; action: string; subject: string; detail?: Record<string, unknown> },
): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({ at: clock.now(), actor: entry.actor, action: entry.action, subject: entry.subject, detail: JSON.stringify(entry.detail ?? {}) })
    .execute();
}
