import crypto from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from './db.ts';
import { systemClock } from './clock.ts';
import { AppError, forbidden } from './errors.ts';

export type Role =
  | 'admin'
  | 'province_analyst'
  | 'city_billing_clerk'
  | 'collection_team'
  | 'grid_manager'
  | 'service_agent'
  | 'customer'
  | 'payment_channel';

/** Who is calling: a staff member scoped to an org subtree, a customer scoped to itself, or a system integration. */
export interface Principal {
  kind: 'staff' | 'customer' | 'system';
  id: number;
  name: string;
  role: Role;
  orgId: number | null;
  /** Org path prefix ('/SGCC/LN/LN02/') this principal may see. */
  orgPath: string;
}

/** What each role may do; scope (which org subtree) is checked separately. */
const PERMISSIONS: Record<string, Role[]> = {
  'org:read': ['admin', 'province_analyst', 'city_billing_clerk', 'collection_team', 'grid_manager', 'service_agent'],
  'customers:read': ['admin', 'province_analyst', 'city_billing_clerk', 'collection_team', 'grid_manager', 'service_agent'],
  'customers:write': ['admin', 'service_agent', 'grid_manager'],
  // full phone numbers and emails: only roles that contact customers
  'contacts:unmasked': ['admin', 'service_agent', 'grid_manager'],
  'readings:read': ['admin', 'province_analyst', 'city_billing_clerk', 'collection_team', 'grid_manager', 'service_agent'],
  'readings:write': ['admin', 'collection_team'],
  'billing:read': ['admin', 'province_analyst', 'city_billing_clerk', 'grid_manager', 'service_agent'],
  'billing:run': ['admin', 'city_billing_clerk'],
  'billing:review': ['admin', 'city_billing_clerk'],
  'payments:read': ['admin', 'province_analyst', 'city_billing_clerk', 'grid_manager', 'service_agent'],
  'payments:post': ['admin', 'city_billing_clerk', 'grid_manager', 'service_agent', 'payment_channel', 'customer'],
  'payments:reverse': ['admin', 'city_billing_clerk'],
  'payments:reconcile': ['admin', 'city_billing_clerk'],
  'dunning:read': ['admin', 'province_analyst', 'city_billing_clerk', 'grid_manager', 'service_agent'],
  'dunning:run': ['admin', 'city_billing_clerk'],
  'tasks:read': ['admin', 'province_analyst', 'city_billing_clerk', 'collection_team', 'grid_manager', 'service_agent'],
  'tasks:work': ['admin', 'collection_team', 'grid_manager', 'service_agent'],
  'tasks:assign': ['admin', 'service_agent', 'city_billing_clerk'],
  'orders:read': ['admin', 'province_analyst', 'service_agent', 'grid_manager'],
  'orders:write': ['admin', 'service_agent'],
  'assets:read': ['admin', 'province_analyst', 'collection_team', 'service_agent'],
  'assets:write': ['admin', 'collection_team'],
  'kpi:read': ['admin', 'province_analyst', 'city_billing_clerk', 'collection_team', 'grid_manager', 'service_agent'],
  'admin': ['admin'],
};
export type Permission = keyof typeof PERMISSIONS;

export function can(p: Principal, permission: Permission): boolean {
  return PERMISSIONS[permission]?.includes(p.role) ?? false;
}

export function requirePermission(p: Principal | undefined, permission: Permission): Principal {
  if (!p) throw new AppError('AUTH_REQUIRED', 'sign in first: send Authorization: Bearer <token>', 401);
  if (!can(p, permission)) throw forbidden(`role ${p.role} may not ${permission}`);
  return p;
}

/** True when an org path lies inside the principal's scope. */
export function inScope(p: Principal, orgPath: string): boolean {
  return orgPath.startsWith(p.orgPath);
}

export function requireScope(p: Principal, orgPath: string): void {
  if (!inScope(p, orgPath)) throw forbidden('outside your org scope');
}

/** Mask all but the first 3 and last 2 characters ('138******21'); emails keep their domain. */
export function maskContact(value: string): string {
  const at = value.indexOf('@');
  if (at > 0) return `${value.slice(0, 1)}***${value.slice(at)}`;
  if (value.length <= 5) return '*'.repeat(value.length);
  return value.slice(0, 3) + '*'.repeat(value.length - 5) + value.slice(-2);
}

export function hashPassword(password: string, salt = crypto.randomBytes(8).toString('hex')): string {
  return `scrypt:${salt}:${crypto.scryptSync(password, salt, 32).toString('hex')}`;
}

export function verifyPassword(password: string, stored: string | null): boolean {
  if (!stored) return false;
  const [scheme, salt, hash] = stored.split(':');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const got = crypto.scryptSync(password, salt, 32);
  return crypto.timingSafeEqual(got, Buffer.from(hash, 'hex'));
}

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

/** Token lifetimes run on wall-clock time: expiry is a security property, not business time. */
export async function issueToken(db: Db, p: Principal, ttlHours = 24 * 30): Promise<string> {
  const token = crypto.randomBytes(24).toString('base64url');
  const now = systemClock.now();
  await db
    .insertInto('auth_token')
    .values({
      token_hash: sha256(token),
      subject_kind: p.kind,
      subject_id: p.id,
      role: p.role,
      org_id: p.orgId,
      org_path: p.orgPath,
      display_name: p.name,
      created_at: now,
      expires_at: new Date(now.getTime() + ttlHours * 3600_000),
    })
    .execute();
  return token;
}

// Signed-in principals by token hash, per database, for a few seconds: an API integration (a bank posting
// thousands of payments) then costs no token query per request. A cached entry never outlives its token's
// expiry, nor a revocation made since it was cached in this process (revokeTokens).
const TOKEN_CACHE_MS = 30_000;
const TOKEN_CACHE_MAX = 10_000;
const tokenCache = new WeakMap<Db, Map<string, { principal: Principal; until: number; generation: number }>>();
/** Raised by every revocation: cached entries of an older generation are looked up again. */
let revocations = 0;

/**
 * Ends every sign-in of these subjects before its expiry (a customer's portal after a new occupant moved
 * in, or after staff issued a new password). In this process a token is refused from the next check
 * after the revoking transaction commits; a check made while it is still open, or by another process
 * serving the API, may accept the token from its cache for up to TOKEN_CACHE_MS more.
 */
export async function revokeTokens(db: Db, subjectKind: Principal['kind'], subjectIds: number[]): Promise<void> {
  if (!subjectIds.length) return;
  await db.deleteFrom('auth_token').where('subject_kind', '=', subjectKind).where('subject_id', 'in', subjectIds).execute();
  revocations++;
}

export async function principalForToken(db: Db, token: string): Promise<Principal | undefined> {
  const hash = sha256(token);
  // a revocation made while the row is read leaves this entry stale: it is cached under the generation before it
  const generation = revocations;
  const now = systemClock.now().getTime();
  let cache = tokenCache.get(db);
  const hit = cache?.get(hash);
  if (hit && hit.until > now && hit.generation === revocations) return hit.principal;
  const row = await db
    .selectFrom('auth_token')
    .selectAll()
    .where('token_hash', '=', hash)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  if (!row) return undefined;
  const principal: Principal = {
    kind: row.subject_kind,
    id: Number(row.subject_id),
    name: row.display_name,
    role: row.role,
    orgId: row.org_id,
    orgPath: row.org_path,
  };
  if (!cache) tokenCache.set(db, (cache = new Map()));
  if (cache.size >= TOKEN_CACHE_MAX) cache.clear();
  cache.set(hash, { principal, until: Math.min(now + TOKEN_CACHE_MS, (row.expires_at as Date).getTime()), generation });
  return principal;
}
