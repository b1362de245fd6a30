import type { FastifyPluginAsync } from 'fastify';
import {
  AppError, audit, conflict, forgetCachedSignIns, notFound, requirePermission, requireScope, verifyPassword, issueToken, type AppContext, type Principal,
} from '../../platform/index.ts';
import { findOrgByCode, findStaffByCode, listChildren, listOrgSubtree, listTeams, findOrgById, setStaffActive } from '../store/org.repository.ts';

export const orgRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.post('/auth/login', {
    config: { public: true },
    schema: {
      tags: ['auth'],
      body: { type: 'object', required: ['username', 'password'], properties: { username: { type: 'string', minLength: 1 }, password: { type: 'string' } } },
    },
  }, async (req) => {
    const { username, password } = req.body as { username: string; password: string };
    const staff = await findStaffByCode(ctx.db, username);
    if (!staff || !staff.active || !verifyPassword(password, staff.password_hash)) {
      throw new AppError('AUTH_BAD_CREDENTIALS', 'unknown user or wrong password', 401);
    }
    const principal: Principal = { kind: 'staff', id: staff.id, name: staff.name, role: staff.role as Principal['role'], orgId: staff.org_id, orgPath: staff.org_path };
    const token = await issueToken(ctx.db, principal);
    const org = await findOrgById(ctx.db, staff.org_id);
    return { token, user: { ...principal, code: staff.code, teamId: staff.team_id, org: org && { code: org.code, name: org.name, nameEn: org.name_en, level: org.level } } };
  });

  app.get('/me', { schema: { tags: ['auth'] } }, async (req) => {
    const p = req.principal;
    if (!p) throw new AppError('AUTH_REQUIRED', 'sign in first', 401);
    return p;
  });

  /** The org tree below the caller's scope, or below ?root=CODE, down to ?depth levels. */
  app.get('/org/tree', {
    schema: { tags: ['org'], querystring: { type: 'object', properties: { root: { type: 'string' }, maxLevel: { type: 'string', enum: ['hq', 'province', 'city', 'county', 'station', 'grid'] } } } },
  }, async (req) => {
    const p = requirePermission(req.principal, 'org:read');
    const q = req.query as { root?: string; maxLevel?: 'hq' | 'province' | 'city' | 'county' | 'station' | 'grid' };
    let prefix = p.orgPath;
    if (q.root) {
      const root = await findOrgByCode(ctx.db, q.root);
      if (!root) throw notFound('ORG_UNKNOWN', `no org unit with code ${q.root}`);
      requireScope(p, root.path);
      prefix = root.path;
    }
    const units = await listOrgSubtree(ctx.db, prefix, q.maxLevel ?? 'county');
    return { items: units.map((u) => ({ id: u.id, code: u.code, name: u.name, nameEn: u.name_en, level: u.level, parentId: u.parent_id, path: u.path })) };
  });

  app.get('/org/:code/children', { schema: { tags: ['org'] } }, async (req) => {
    const p = requirePermission(req.principal, 'org:read');
    const { code } = req.params as { code: string };
    const unit = await findOrgByCode(ctx.db, code);
    if (!unit) throw notFound('ORG_UNKNOWN', `no org unit with code ${code}`);
    requireScope(p, unit.path);
    const items = await listChildren(ctx.db, unit.id);
    return { unit, items };
  });

  /** Deactivate a leaver (their sign-ins end at once) or reactivate a staff member (they sign in again). */
  app.patch('/staff/:code', {
    schema: {
      tags: ['org'],
      body: { type: 'object', required: ['active'], additionalProperties: false, properties: { active: { type: 'boolean' } } },
    },
  }, async (req) => {
    const p = requirePermission(req.principal, 'admin');
    const { code } = req.params as { code: string };
    const { active } = req.body as { active: boolean };
    const staff = await findStaffByCode(ctx.db, code);
    if (!staff) throw notFound('STAFF_UNKNOWN', `no staff member ${code}`);
    requireScope(p, staff.org_path);
    if (!active && p.kind === 'staff' && p.id === staff.id) throw conflict('STAFF_SELF_DEACTIVATION', 'you cannot deactivate yourself: ask another administrator');
    const changed = await ctx.db.transaction().execute(async (trx) => {
      const n = await setStaffActive(trx, [staff.id], active);
      if (n) await audit(trx, ctx.clock, { actor: `${p.kind}:${p.id}`, action: active ? 'staff.reactivate' : 'staff.deactivate', subject: `staff:${staff.code}` });
      return n;
    });
    // again after the commit: a request that read the token while the transaction was open cached it as still valid
    forgetCachedSignIns();
    return { code: staff.code, name: staff.name, role: staff.role, active, changed: changed > 0 };
  });

  app.get('/teams', { schema: { tags: ['org'] } }, async (req) => {
    const p = requirePermission(req.principal, 'org:read');
    return { items: await listTeams(ctx.db, p.orgPath) };
  });
};
