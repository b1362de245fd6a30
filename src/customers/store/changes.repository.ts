import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';
import type { ContactKind, NoticeChannel } from './customers.repository.ts';
import { replaceAgreements, setContactStatus, upsertContact } from './agreements.repository.ts';
import { replacePortalCredential } from './portal-credentials.repository.ts';

export type CustomerChangeType = 'name' | 'tariff' | 'capacity' | 'move_in';

export interface CustomerChange {
  customerId: number;
  type: CustomerChangeType;
  effectiveOn: string;
  payload: { newName?: string; newTariffCode?: string; newCapacityKva?: number; contact?: { kind: ContactKind; value: string } | null };
  taskId?: number;
  recordedBy: string;
}

/** What a change replaced, added to its payload when it is applied: the value in force the day before its effective date. */
export interface ReplacedValues {
  oldName?: string;
  oldTariffCode?: string;
  oldCapacityKva?: number | null;
  /** A move-in: the contacts of the former occupants. */
  formerContactIds?: number[];
}

export async function recordCustomerChange(db: Db, at: Date, c: CustomerChange): Promise<number> {
  const r = await sql<{ id: number }>`
    INSERT INTO customer_change (customer_id, change_type, effective_on, payload, task_id, recorded_by, recorded_at)
    VALUES (${c.customerId}, ${c.type}, ${c.effectiveOn}::date, ${JSON.stringify(c.payload)}::jsonb, ${c.taskId ?? null}, ${c.recordedBy}, ${at})
    RETURNING id`.execute(db);
  return Number(r.rows[0]!.id);
}

/** The channels a new occupant's contact carries notices on. */
const CHANNELS_OF: Record<ContactKind, NoticeChannel[]> = { mobile: ['sms', 'voice'], landline: ['voice'], email: ['email'], catv: ['catv'] };

/** The customer field a change sets (a move-in renames), and the value it sets. */
const fieldOf = sql`CASE WHEN change_type = 'move_in' THEN 'name' ELSE change_type END`;
const valueOf = sql`CASE change_type WHEN 'tariff' THEN payload->>'newTariffCode' WHEN 'capacity' THEN payload->>'newCapacityKva' ELSE payload->>'newName' END`;

/**
 * Apply every change that is due on `day` and not applied yet. Per customer and field (name, tariff,
 * capacity) the change with the latest effective date wins, applied or not: a backdated change never
 * undoes a later one already in force. Each change keeps the value it replaced (oldName, oldTariffCode,
 * oldCapacityKva: what held the day before its effective date), so a bill can split its period there.
 * A move-in also replaces the notice channels with the new occupant's contact, or withdraws them all when
 * none was given (a handful a day, one customer at a time), and closes the portal to the former occupant:
 * the password is cleared and its sign-ins end, until staff issue the new occupant one. Only the changes
 * read at the start are marked applied, last: a crash before that re-applies the same values.
 */
export async function applyDueCustomerChanges(db: Db, at: Date, day: string): Promise<number> {
  const dueIds = (await sql<{ id: string }>`
    SELECT id::text AS id FROM customer_change WHERE applied_at IS NULL AND effective_on <= ${day}::date`.execute(db)).rows.map((r) => Number(r.id));
  if (!dueIds.length) return 0;
  const due = sql`(SELECT jsonb_array_elements_text(${JSON.stringify(dueIds)}::jsonb)::bigint)`;
  // the timeline of each field a due change touches, every change with the value in force before it
  await sql`
    WITH fields AS (
      SELECT id, customer_id, effective_on, applied_at, payload, ${fieldOf} AS field, ${valueOf} AS value
      FROM customer_change
      WHERE effective_on <= ${day}::date AND customer_id IN (SELECT customer_id FROM customer_change WHERE id IN ${due})),
    touched AS (SELECT DISTINCT customer_id, field FROM fields WHERE id IN ${due}),
    timeline AS (
      SELECT f.*, lag(f.value) OVER w AS before, row_number() OVER w AS n, count(*) OVER (PARTITION BY f.customer_id, f.field) AS len,
             CASE f.field WHEN 'name' THEN 'oldName' WHEN 'tariff' THEN 'oldTariffCode' ELSE 'oldCapacityKva' END AS old_key
      FROM fields f JOIN touched t ON t.customer_id = f.customer_id AND t.field = f.field
      WINDOW w AS (PARTITION BY f.customer_id, f.field ORDER BY f.effective_on, f.id)),
    -- the earliest change applied before was the first of its field then: it holds the value from before any change
    first_applied AS (
      SELECT DISTINCT ON (customer_id, field) customer_id, field, payload, old_key FROM timeline
      WHERE applied_at IS NOT NULL ORDER BY customer_id, field, effective_on, id),
    resolved AS (
      SELECT tl.id, tl.customer_id, tl.field, tl.value, tl.n = tl.len AS latest, tl.old_key,
             CASE WHEN tl.n > 1 THEN tl.before
                  WHEN fa.payload ? fa.old_key THEN fa.payload->>fa.old_key
                  ELSE CASE tl.field WHEN 'name' THEN c.name WHEN 'tariff' THEN c.tariff_code ELSE c.contract_capacity_kva::text END END AS old
      FROM timeline tl JOIN customer c ON c.id = tl.customer_id
      LEFT JOIN first_applied fa ON fa.customer_id = tl.customer_id AND fa.field = tl.field),
    history AS (
      UPDATE customer_change x
      SET payload = x.payload || jsonb_build_object(r.old_key, CASE WHEN r.field = 'capacity' THEN COALESCE(to_jsonb(r.old::int), 'null'::jsonb) ELSE to_jsonb(r.old) END)
      FROM resolved r WHERE x.id = r.id
      RETURNING x.id)
    UPDATE customer c SET
      name = COALESCE(l.name, c.name),
      tariff_code = COALESCE(l.tariff, c.tariff_code),
      contract_capacity_kva = COALESCE(l.capacity, c.contract_capacity_kva)
    FROM (SELECT customer_id, max(value) FILTER (WHERE field = 'name') AS name, max(value) FILTER (WHERE field = 'tariff') AS tariff,
                 (max(value) FILTER (WHERE field = 'capacity'))::int AS capacity
          FROM resolved WHERE latest GROUP BY customer_id) l
    WHERE c.id = l.customer_id`.execute(db);
  // the latest move-in of each customer, if it is one of the due changes
  const moveIns = await sql<{ id: string; customer_id: string; kind: ContactKind | null; value: string | null }>`
    SELECT * FROM (
      SELECT DISTINCT ON (customer_id) id::text AS id, customer_id::text AS customer_id,
             CASE WHEN jsonb_typeof(payload->'contact') = 'object' THEN payload->'contact'->>'kind' END AS kind,
             CASE WHEN jsonb_typeof(payload->'contact') = 'object' THEN payload->'contact'->>'value' END AS value
      FROM customer_change
      WHERE change_type = 'move_in' AND effective_on <= ${day}::date
        AND customer_id IN (SELECT customer_id FROM customer_change WHERE change_type = 'move_in' AND id IN ${due})
      ORDER BY customer_id, effective_on DESC, id DESC) m
    WHERE m.id::bigint IN ${due}`.execute(db);
  for (const m of moveIns.rows) {
    const customerId = Number(m.customer_id);
    let contactId: number | null = null;
    if (m.kind !== null && m.value !== null) {
      contactId = await upsertContact(db, customerId, m.kind, m.value);
      await setContactStatus(db, [contactId], 'verified');
    }
    await replaceAgreements(db, customerId, at, contactId === null ? [] : CHANNELS_OF[m.kind!].map((channel) => ({ channel, contactId: contactId! })));
    // the contacts known before are the former occupants': the new occupant does not see them in full
    await sql`
      UPDATE customer_change SET payload = payload || jsonb_build_object('formerContactIds',
        (SELECT COALESCE(jsonb_agg(id ORDER BY id), '[]'::jsonb) FROM contact WHERE customer_id = ${customerId} AND id IS DISTINCT FROM ${contactId}::bigint))
      WHERE id = ${Number(m.id)}`.execute(db);
  }
  await replacePortalCredential(db, moveIns.rows.map((m) => Number(m.customer_id)), null);
  const applied = await sql`UPDATE customer_change SET applied_at = ${at} WHERE applied_at IS NULL AND id IN ${due}`.execute(db);
  return Number(applied.numAffectedRows ?? 0);
}

export async function listCustomerChanges(db: Db, customerId: number) {
  const r = await sql<{ id: number; change_type: CustomerChangeType; effective_on: string; payload: CustomerChange['payload'] & ReplacedValues; task_id: number | null; recorded_by: string; recorded_at: Date; applied_at: Date | null }>`
    SELECT id, change_type, effective_on, payload, task_id, recorded_by, recorded_at, applied_at
    FROM customer_change WHERE customer_id = ${customerId} ORDER BY effective_on, id`.execute(db);
  return r.rows;
}
