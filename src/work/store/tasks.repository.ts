import { sql, type RawBuilder } from 'kysely';
import { plainUnlessStored, type Db } from '../../platform/index.ts';

export type TaskKind =
  | 're_read' | 'manual_collection' | 'contact_verification' | 'business_change'
  | 'consultation' | 'area_inspection' | 'disconnect' | 'reconnect' | 'meter_exchange';
export type TaskStatus = 'open' | 'accepted' | 'in_progress' | 'done' | 'cannot_complete' | 'cancelled';

/** What a caller asks for; routing (team or grid manager), org scope and (unless given) due time are filled by rule. */
export interface TaskSpec {
  kind: TaskKind;
  /** Same key, same task: opening twice is a no-op. */
  idempotencyKey: string;
  title: string;
  customerId?: number;
  meterId?: number;
  transformerAreaId?: number;
  payload?: Record<string, unknown>;
  createdBy: string;
  /**
   * Due time set by a commitment that counts from an event before the opening (a reconnect is due
   * 24 h after the payment, not after the task is opened). Without it: opened + the kind's time limit.
   */
  dueAt?: Date;
}

/**
 * Open tasks in one statement. Routing: team-routed kinds go to the team contracting the transformer
 * area (the customer's, or the given one); grid-manager kinds to the manager of the customer's grid.
 * Returns the number of tasks actually created (existing keys are left alone).
 */
export async function openTasks(db: Db, at: Date, specs: TaskSpec[]): Promise<number> {
  if (!specs.length) return 0;
  const rows = specs.map((s) => ({
    kind: s.kind, key: s.idempotencyKey, title: s.title, customer_id: s.customerId ?? null, meter_id: s.meterId ?? null,
    area_id: s.transformerAreaId ?? null, payload: s.payload ?? {}, created_by: s.createdBy, due_at: s.dueAt ?? null,
  }));
  return openTasksFrom(db, at, sql`
    SELECT * FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
      AS s(kind text, key text, title text, customer_id bigint, meter_id bigint, area_id integer, payload jsonb, created_by text, due_at timestamptz)`);
}

/**
 * openTasks for specs selected in SQL by the caller (a province-wide hand-over opens hundreds of
 * thousands at once: no round trip of the rows through the application). `source` yields the
 * columns kind, key, title, customer_id, meter_id, area_id (integer), payload (jsonb), created_by and
 * due_at (timestamptz; NULL: opened + the kind's time limit).
 * `fresh`: the caller selected keys that have no task yet, in its own transaction: they go in
 * plainly, without a conflict check per row; if one exists after all, the write is rolled back to
 * a savepoint and redone leaving existing keys alone.
 */
export async function openTasksFrom(db: Db, at: Date, source: RawBuilder<unknown>, opts: { fresh?: boolean } = {}): Promise<number> {
  const write = (onConflict: boolean) => sql<{ n: number }>`
    WITH opened AS (
    INSERT INTO task (kind, idempotency_key, title, org_path, team_id, assignee_staff_id, grid_id, customer_id, meter_id,
                      transformer_area_id, payload, opened_at, due_at, created_by)
    SELECT s.kind, s.key, s.title,
           COALESCE(c.org_path, g.path, '/'),
           CASE WHEN k.routed_to = 'team' THEN ta.team_id END,
           CASE WHEN k.routed_to = 'grid_manager' THEN gm.staff_id END,
           ta.grid_id, s.customer_id, s.meter_id, ta.id, s.payload, ${at}::timestamptz,
           COALESCE(s.due_at, ${at}::timestamptz + make_interval(hours => k.time_limit_hours)), s.created_by
    FROM (${source}) s
    JOIN task_kind k ON k.kind = s.kind
    LEFT JOIN customer c ON c.id = s.customer_id
    LEFT JOIN transformer_area ta ON ta.id = COALESCE(s.area_id, c.transformer_area_id)
    LEFT JOIN org_unit g ON g.id = ta.grid_id
    LEFT JOIN (SELECT st.org_id, min(st.id) AS staff_id FROM staff st WHERE st.role = 'grid_manager' AND st.active GROUP BY st.org_id) gm
      ON gm.org_id = ta.grid_id
    ${onConflict ? sql`ON CONFLICT ON CONSTRAINT task_idempotency_key_key DO NOTHING` : sql``}
    RETURNING id, opened_at, created_by, assignee_staff_id),
    -- the opening is the first entry of each new task's audit trail
    trail AS (
      INSERT INTO task_event (task_id, at, actor, action, from_status, to_status, to_assignee)
      SELECT id, opened_at, created_by, 'open', NULL, 'open', assignee_staff_id FROM opened)
    SELECT count(*)::int AS n FROM opened`;
  const count = async (onConflict: boolean) => (await write(onConflict).execute(db)).rows[0]!.n;
  return opts.fresh ? plainUnlessStored(db, () => count(false), () => count(true)) : count(true);
}

/**
 * Close open tasks by key with an outcome (e.g. a late automatic reading closes its re-read task).
 * Returns the keys of the tasks it closed (a key already closed, or never opened, is not among them).
 */
export async function closeTasksByKey(db: Db, at: Date, keys: string[], status: 'done' | 'cancelled', outcome: Record<string, unknown>): Promise<string[]> {
  if (!keys.length) return [];
  const r = await sql<{ key: string }>`
    WITH closing AS (
      SELECT id, status FROM task WHERE idempotency_key IN (SELECT jsonb_array_elements_text(${JSON.stringify(keys)}::jsonb)) AND closed_at IS NULL FOR UPDATE),
    closed AS (
      UPDATE task t SET status = ${status}, closed_at = ${at}::timestamptz, outcome = ${JSON.stringify(outcome)}::jsonb
      FROM closing WHERE t.id = closing.id
      RETURNING t.id, t.idempotency_key, closing.status AS from_status),
    trail AS (
      INSERT INTO task_event (task_id, at, actor, action, from_status, to_status, note)
      SELECT id, ${at}::timestamptz, 'system', 'close', from_status, ${status}, 'closed by key' FROM closed)
    SELECT idempotency_key AS key FROM closed`.execute(db);
  return r.rows.map((x) => x.key);
}
