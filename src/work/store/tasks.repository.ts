import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';

export type TaskKind =
  | 're_read' | 'manual_collection' | 'contact_verification' | 'business_change'
  | 'consultation' | 'area_inspection' | 'disconnect' | 'reconnect';
export type TaskStatus = 'open' | 'accepted' | 'in_progress' | 'done' | 'cannot_complete' | 'cancelled';

/** What a caller asks for; routing (team or grid manager), org scope and due time are filled by rule. */
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
    area_id: s.transformerAreaId ?? null, payload: s.payload ?? {}, created_by: s.createdBy,
  }));
  const r = await sql`
    INSERT INTO task (kind, idempotency_key, title, org_path, team_id, assignee_staff_id, grid_id, customer_id, meter_id,
                      transformer_area_id, payload, opened_at, due_at, created_by)
    SELECT s.kind, s.key, s.title,
           COALESCE(c.org_path, g.path, '/'),
           CASE WHEN k.routed_to = 'team' THEN ta.team_id END,
           CASE WHEN k.routed_to = 'grid_manager' THEN gm.staff_id END,
           ta.grid_id, s.customer_id, s.meter_id, ta.id, s.payload, ${at}::timestamptz,
           ${at}::timestamptz + make_interval(hours => k.time_limit_hours), s.created_by
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
         AS s(kind text, key text, title text, customer_id bigint, meter_id bigint, area_id integer, payload jsonb, created_by text)
    JOIN task_kind k ON k.kind = s.kind
    LEFT JOIN customer c ON c.id = s.customer_id
    LEFT JOIN transformer_area ta ON ta.id = COALESCE(s.area_id, c.transformer_area_id)
    LEFT JOIN org_unit g ON g.id = ta.grid_id
    LEFT JOIN LATERAL (SELECT min(st.id) AS staff_id FROM staff st WHERE st.org_id = ta.grid_id AND st.role = 'grid_manager' AND st.active) gm ON true
    ON CONFLICT ON CONSTRAINT task_idempotency_key_key DO NOTHING`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

/** Close open tasks by key with an outcome (e.g. a late automatic reading closes its re-read task). */
export async function closeTasksByKey(db: Db, at: Date, keys: string[], status: 'done' | 'cancelled', outcome: Record<string, unknown>): Promise<number> {
  if (!keys.length) return 0;
  const r = await db
    .updateTable('task')
    .set({ status, closed_at: at, outcome: JSON.stringify(outcome) })
    .where('idempotency_key', 'in', keys)
    .where('closed_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}
