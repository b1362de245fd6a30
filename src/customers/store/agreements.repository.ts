import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../../platform/index.ts';
import type { ContactKind, NoticeChannel } from './customers.repository.ts';

/** Insert the contact if new and return its id (contacts are unique per customer, kind, value). */
export async function upsertContact(db: Db, customerId: number, kind: ContactKind, value: string): Promise<number> {
  const row = await sql<{ id: number }>`
    INSERT INTO contact (id, customer_id, kind, value, status)
    VALUES (nextval('contact_id_seq'), ${customerId}, ${kind}, ${value}, 'unverified')
    ON CONFLICT ON CONSTRAINT contact_customer_kind_value_key DO UPDATE SET kind = EXCLUDED.kind
    RETURNING id`.execute(db);
  return Number(row.rows[0]!.id);
}

/** Replace the customer's agreed channels: listed ones (in order) are consented, others withdrawn. */
export async function replaceAgreements(
  db: Db,
  customerId: number,
  at: Date,
  channels: { channel: NoticeChannel; contactId: number }[],
): Promise<void> {
  const keep = channels.map((c) => c.channel);
  let q = db.updateTable('channel_agreement').set({ withdrawn_at: at }).where('customer_id', '=', customerId).where('withdrawn_at', 'is', null);
  if (keep.length) q = q.where('channel', 'not in', keep);
  await q.execute();
  for (const [i, c] of channels.entries()) {
    await sql`
      INSERT INTO channel_agreement (customer_id, channel, contact_id, priority, consented_at, withdrawn_at)
      VALUES (${customerId}, ${c.channel}, ${c.contactId}, ${i + 1}, ${at}, NULL)
      ON CONFLICT ON CONSTRAINT channel_agreement_pkey DO UPDATE
        SET contact_id = EXCLUDED.contact_id, priority = EXCLUDED.priority,
            -- a consent is for one contact: a new number or address on the channel is a new consent
            consented_at = CASE WHEN channel_agreement.withdrawn_at IS NULL AND channel_agreement.contact_id = EXCLUDED.contact_id
                                THEN channel_agreement.consented_at ELSE EXCLUDED.consented_at END,
            withdrawn_at = NULL`.execute(db);
  }
}

/**
 * A contact a person has just verified with the customer (a corrected number from a contact-verification
 * or manual-collection visit) takes over the agreements in force on the customer's other contacts of its
 * kind: notices go to the number that works, not on to the one that failed. A new contact on a channel is
 * a new consent (consented_at). Returns the channels moved.
 */
export async function moveAgreementsToContact(db: Db, customerId: number, contactId: number, at: Date): Promise<string[]> {
  const r = await sql<{ channel: string }>`
    UPDATE channel_agreement a SET contact_id = ${contactId}, consented_at = ${at}
    FROM contact old, contact fresh
    WHERE a.customer_id = ${customerId} AND a.withdrawn_at IS NULL AND a.contact_id <> ${contactId}
      AND old.id = a.contact_id AND fresh.id = ${contactId} AND old.kind = fresh.kind AND fresh.customer_id = ${customerId}
    RETURNING a.channel`.execute(db);
  return r.rows.map((x) => x.channel).sort();
}

/** A contact a person reached the customer on: stored (or found), verified, and given the agreements of its kind. */
export async function adoptVerifiedContact(db: Db, customerId: number, kind: ContactKind, value: string, at: Date): Promise<number> {
  const contactId = await upsertContact(db, customerId, kind, value);
  await setContactStatus(db, [contactId], 'verified');
  await moveAgreementsToContact(db, customerId, contactId, at);
  return contactId;
}

export async function setContactStatus(db: Db, contactIds: number[], status: 'verified' | 'invalid' | 'unverified'): Promise<void> {
  if (!contactIds.length) return;
  await db.updateTable('contact').set({ status }).where('id', 'in', contactIds).execute();
}

/**
 * Contacts proven reachable (the `contactIds` query: e.g. a notice delivered to them, a call answered)
 * become verified; an invalid one stays for a person to correct. Returns how many changed.
 */
export async function verifyReachedContacts(db: Db, contactIds: RawBuilder<unknown>): Promise<number> {
  const r = await sql`UPDATE contact SET status = 'verified' WHERE status = 'unverified' AND id IN (${contactIds})`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}
