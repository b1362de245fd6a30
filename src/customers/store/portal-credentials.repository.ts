import { sql } from 'kysely';
import { revokeTokens, type Db } from '../../platform/index.ts';

/**
 * Sets these customers' portal password (null: none, the portal is closed to them until staff issue one)
 * and ends every portal sign-in they hold. A move-in does this for the former occupant; issuing a new
 * password does it too.
 */
export async function replacePortalCredential(db: Db, customerIds: number[], passwordHash: string | null): Promise<void> {
  if (!customerIds.length) return;
  await sql`UPDATE customer SET portal_password_hash = ${passwordHash} WHERE id = ANY (${customerIds}::bigint[])`.execute(db);
  await revokeTokens(db, 'customer', customerIds);
}
