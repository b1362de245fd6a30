import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';
import type { ContactKind, NoticeChannel } from './customers.repository.ts';
import { replaceAgreements, setContactStatus, upsertContact } from './agreements.repository.ts';

export type CustomerChangeType = 'name' | 'tariff' | 'capacity' | 'move_in';

export interface CustomerChange {
  customerId: number;
  type: CustomerChangeType;
  effectiveOn: string;
  payload: { newName?: string; newTariffCode?: string; newCapacityKva?: number; contact?: { kind: ContactKind; value: string } | null };
  taskId?: number;
  recordedBy: string;
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

/**
 * Apply every change that is due on `day` and not applied yet, oldest effective date first so the
 * latest wins: one statement per kind of field for the whole province; a move-in also replaces the
 * notice channels with the new occupant's contact (a handful a day, one customer at a time).
 */
export async function applyDueCustomerChanges(db: Db, at: Date, day: string): Promise<number> {
  const due = sql`SELECT DISTINCT ON (customer_id, field) customer_id, field, value FROM (
      SELECT id, customer_id, effective_on, CASE WHEN change_type = 'move_in' THEN 'name' ELSE change_type END AS field,
             COALESCE(payload->>'newName', payload->>'newTariffCode', payload->>'newCapacityKva') AS value
      FROM customer_change WHERE applied_at IS NULL AND effective_on <= ${day}::date) x
    ORDER BY customer_id, field, effective_on DESC, id DESC`;
  await sql`
    UPDATE customer c SET
      name = COALESCE(d.name, c.name),
      tariff_code = COALESCE(d.tariff, c.tariff_code),
      contract_capacity_kva = COALESCE(d.capacity, c.contract_capacity_kva)
    FROM (SELECT customer_id, max(value) FILTER (WHERE field = 'name') AS name, max(value) FILTER (WHERE field = 'tariff') AS tariff,
                 (max(value) FILTER (WHERE field = 'capacity'))::int AS capacity
          FROM (${due}) d GROUP BY customer_id) d
    WHERE c.id = d.customer_id`.execute(db);
  const moveIns = await sql<{ customer_id: number; kind: ContactKind; value: string }>`
    SELECT DISTINCT ON (customer_id) customer_id, payload->'contact'->>'kind' AS kind, payload->'contact'->>'value' AS value
    FROM customer_change WHERE applied_at IS NULL AND effective_on <= ${day}::date AND change_type = 'move_in' AND jsonb_typeof(payload->'contact') = 'object'
    ORDER BY customer_id, effective_on DESC, id DESC`.execute(db);
  for (const m of moveIns.rows) {
    const customerId = Number(m.customer_id);
    const contactId = await upsertContact(db, customerId, m.kind, m.value);
    await setContactStatus(db, [contactId], 'verified');
    await replaceAgreements(db, customerId, at, CHANNELS_OF[m.kind].map((channel) => ({ channel, contactId })));
  }
  const applied = await sql`UPDATE customer_change SET applied_at = ${at} WHERE applied_at IS NULL AND effective_on <= ${day}::date`.execute(db);
  return Number(applied.numAffectedRows ?? 0);
}

export async function listCustomerChanges(db: Db, customerId: number) {
  const r = await sql<{ id: number; change_type: CustomerChangeType; effective_on: string; payload: CustomerChange['payload']; task_id: number | null; recorded_by: string; recorded_at: Date; applied_at: Date | null }>`
    SELECT id, change_type, effective_on, payload, task_id, recorded_by, recorded_at, applied_at
    FROM customer_change WHERE customer_id = ${customerId} ORDER BY effective_on, id`.execute(db);
  return r.rows;
}
