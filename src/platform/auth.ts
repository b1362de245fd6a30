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

/** Staff of HQ or the province: their scope is the whole province ('/SGCC/' or '/SGCC/LN/'). */
export function isProvinceWide(p: Principal): boolean {
  return p.orgPath.split('/').filter(Boolean).length <= 2;
}

/** Only province-wide staff act on what spans the province (a run over every account); `what` says why in the refusal. */
export function requireProvinceWide(p: Principal, what: string): void {
  if (!isProvinceWide(p)) throw forbidden(`${what}; your scope is ${p.orgPath}`);
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
// expiry, nor a revocation: one made in this process ends it at the next check (revokeTokens,
// forgetCachedSignIns), one made by another process or by SQL within REVOCATION_POLL_MS (auth_revocation).
const TOKEN_CACHE_MS = 30_000;
const TOKEN_CACHE_MAX = 10_000;
/** How often a process serving cached sign-ins reads the database's revocation generation. */
export const REVOCATION_POLL_MS = 1_000;

interface CachedSignIn {
  principal: Principal;
  until: number;
  /** This process's revocation count, and the database's revocation generation, when the token row was read. */
  local: number;
  shared: number;
}
interface SignInCache {
  entries: Map<string, CachedSignIn>;
  /** The newest revocation generation read from the database, and when it was last read. */
  shared: number;
  polledAt: number;
}
const signInCaches = new WeakMap<Db, SignInCache>();
/** Raised by every revocation made in this process: cached entries of an older count are looked up again. */
let revocations = 0;

export type RevocationReason = 'signed_out' | 'account_inactive';

/**
 * Ends every sign-in of these subjects before its expiry (a customer's portal after a new occupant moved
 * in, or after staff issued a new password). In this process a token is refused from the next check
 * after the revoking transaction commits; another process serving the API refuses it within
 * REVOCATION_POLL_MS of the commit. A check made while the transaction is still open may cache the token
 * for that long too. Staff sign-ins end by the org context's trigger on staff (deactivated: reason
 * account_inactive; role, org or password changed: signed_out), which calls the same SQL function.
 */
export async function revokeTokens(db: Db, subjectKind: Principal['kind'], subjectIds: number[], reason: RevocationReason = 'signed_out'): Promise<void> {
  if (!subjectIds.length) return;
  await sql`SELECT auth_revoke_tokens(${subjectKind}, ${subjectIds}::bigint[], ${reason})`.execute(db);
  revocations++;
}

/** Sign-ins were revoked in SQL (a trigger): this process looks its cached ones up again from the next check. */
export function forgetCachedSignIns(): void {
  revocations++;
}

/** The newest revocation generation seen: entries read under an older one are stale. */
function noteGeneration(cache: SignInCache, generation: number, now: number): void {
  if (generation > cache.shared) cache.shared = generation;
  cache.polledAt = now;
}

/**
 * The principal a bearer token signs in, or undefined for an unknown, expired or revoked token (the caller
 * answers AUTH_REQUIRED). A token of a staff member since deactivated throws AUTH_ACCOUNT_INACTIVE (401).
 */
export async function principalForToken(db: Db, token: string): Promise<Principal | undefined> {
  const hash = sha256(token);
  // a revocation made while the row is read leaves this entry stale: it is cached under the count before it
  const local = revocations;
  const now = systemClock.now().getTime();
  let cache = signInCaches.get(db);
  if (!cache) signInCaches.set(db, (cache = { entries: new Map(), shared: -1, polledAt: -Infinity }));
  const hit = cache.entries.get(hash);
  if (hit && hit.until > now && hit.local === revocations) {
    if (now - cache.polledAt >= REVOCATION_POLL_MS) {
      const r = await sql<{ generation: number }>`SELECT generation FROM auth_revocation WHERE id = 1`.execute(db);
      noteGeneration(cache, Number(r.rows[0]!.generation), now);
    }
    if (hit.shared === cache.shared && hit.local === revocations) return hit.principal;
  }
  // the generation and the token from one snapshot: a revocation committed after it raises the generation
  const r = await sql<{
    generation: number; token_hash: string | null; subject_kind: Principal['kind']; subject_id: number; role: Role; org_id: number | null;
    org_path: string; display_name: string; expires_at: Date; live: boolean | null; revoked_reason: RevocationReason | null;
  }>`
    SELECT r.generation, t.token_hash, t.subject_kind, t.subject_id, t.role, t.org_id, t.org_path, t.display_name, t.expires_at,
           t.expires_at > now() AS live, t.revoked_reason
    FROM auth_revocation r LEFT JOIN auth_token t ON t.token_hash = ${hash}
    WHERE r.id = 1`.execute(db);
  const row = r.rows[0]!;
  const generation = Number(row.generation);
  noteGeneration(cache, generation, now);
  if (row.token_hash === null || !row.live) return undefined;
  if (row.revoked_reason === 'account_inactive') {
    throw new AppError('AUTH_ACCOUNT_INACTIVE', 'this account was deactivated and its sign-ins have ended: ask an administrator', 401);
  }
  if (row.revoked_reason !== null) return undefined;
  const principal: Principal = {
    kind: row.subject_kind,
    id: Number(row.subject_id),
    name: row.display_name,
    role: row.role,
    orgId: row.org_id,
    orgPath: row.org_path,
  };
  if (cache.entries.size >= TOKEN_CACHE_MAX) cache.entries.clear();
  cache.entries.set(hash, { principal, until: Math.min(now + TOKEN_CACHE_MS, new Date(row.expires_at).getTime()), local, shared: generation });
  return principal;
}
