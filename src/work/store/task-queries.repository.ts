import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';
import type { TaskRow } from './task-flow.repository.ts';
import type { TaskKind, TaskStatus } from './tasks.repository.ts';

export interface TaskQuery {
  scopePath: string;
  /** Business time: overdue means due before it and not closed. */
  at: Date;
  kind?: TaskKind;
  status?: TaskStatus[];
  overdue?: boolean;
  teamId?: number;
  gridId?: number;
  /** true: tasks nobody holds (a grid without a manager, a team task not taken yet); false: held tasks. */
  unassigned?: boolean;
  /** The workbench: tasks assigned to this staff member, or to their team and not yet taken. */
  workbenchOf?: { staffId: number; teamId: number | null };
  limit: number;
  offset: number;
}

/** A task with what a worker needs on a phone: the customer card and, for collection, the amount owed. */
export interface TaskListRow extends TaskRow {
  team_code: string | null;
  grid_code: string | null;
  assignee_name: string | null;
  customer_number: string | null;
  customer_name: string | null;
  customer_address: string | null;
  customer_mobile: string | null;
  amount_owed: string | null;
}

export async function listTasks(db: Db, q: TaskQuery): Promise<{ items: TaskListRow[]; total: number }> {
  let base = db
    .selectFrom('task as t')
    .leftJoin('customer as c', 'c.id', 't.customer_id')
    .leftJoin('team as tm', 'tm.id', 't.team_id')
    .leftJoin('org_unit as g', 'g.id', 't.grid_id')
    .leftJoin('staff as s', 's.id', 't.assignee_staff_id')
    .where('t.org_path', 'like', `${q.scopePath}%`);
  if (q.kind) base = base.where('t.kind', '=', q.kind);
  if (q.status?.length) base = base.where('t.status', 'in', q.status);
  if (q.teamId !== undefined) base = base.where('t.team_id', '=', q.teamId);
  if (q.gridId !== undefined) base = base.where('t.grid_id', '=', q.gridId);
  if (q.unassigned !== undefined) base = base.where('t.assignee_staff_id', q.unassigned ? 'is' : 'is not', null);
  if (q.overdue === true) base = base.where('t.closed_at', 'is', null).where('t.due_at', '<', q.at);
  if (q.overdue === false) base = base.where((eb) => eb.or([eb('t.closed_at', 'is not', null), eb('t.due_at', '>=', q.at)]));
  const wb = q.workbenchOf;
  if (wb) {
    base = base.where((eb) =>
      eb.or([
        eb('t.assignee_staff_id', '=', wb.staffId),
        ...(wb.teamId !== null ? [eb.and([eb('t.team_id', '=', wb.teamId), eb('t.assignee_staff_id', 'is', null)])] : []),
      ]),
    );
  }
  const [items, total] = await Promise.all([
    base
      .selectAll('t')
      .select([
        'tm.code as team_code', 'g.code as grid_code', 's.name as assignee_name',
        'c.number as customer_number', 'c.name as customer_name', 'c.address as customer_address',
        sql<string | null>`(SELECT k.value FROM contact k WHERE k.customer_id = t.customer_id AND k.kind = 'mobile'
                            ORDER BY k.status = 'verified' DESC, k.id LIMIT 1)`.as('customer_mobile'),
        // dunning's escalation puts the bill's outstanding amount in the payload (src/flows/dunning-escalation.ts)
        sql<string | null>`CASE WHEN t.kind = 'manual_collection' THEN t.payload->>'outstanding' END`.as('amount_owed'),
      ])
      .orderBy('t.due_at')
      .orderBy('t.id')
      .limit(q.limit)
      .offset(q.offset)
      .execute(),
    base.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items: items as TaskListRow[], total: total.n as number };
}
