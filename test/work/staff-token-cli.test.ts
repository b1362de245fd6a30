/**
 * `zerotouch token <code>` issues an API token as signing in would: never one for a deactivated staff
 * member, whose sign-ins ended with the account.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { TestContext } from '../support/db.ts';
import { provinceApi, signIn } from '../support/http.ts';
import { issueStaffToken } from '../../src/cli/platform.commands.ts';
import { openDatabase } from '../../src/platform/index.ts';
import { setStaffActive } from '../../src/org/index.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zt-token-cli-'));
const dataDir = path.join(tmp, 'data');

/** `zerotouch …` on a scratch data folder (never the configured server): exit code, stdout and stderr. */
async function zerotouch(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { DATABASE_URL: _server, ...env } = process.env;
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: root, env: { ...env, ZEROTOUCH_DATA: dataDir, LOG_LEVEL: 'warn' }, timeout: 120_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

let ctx: TestContext;
let app: FastifyInstance;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

provinceApi({ customers: 50, now: '2026-03-02T10:00:00+08:00' }, (c, a) => {
  ctx = c;
  app = a;
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('zerotouch token', () => {
  it('issues a working token to an active staff member and refuses a deactivated one with AUTH_ACCOUNT_INACTIVE', async () => {
    const token = await issueStaffToken(ctx.db, 'agent.LN0101');
    expect((await app.inject({ url: '/api/v1/orders', headers: bearer(token) })).statusCode).toBe(200);

    const admin = await signIn(app, 'admin');
    const off = await app.inject({ method: 'PATCH', url: '/api/v1/staff/agent.LN0101', headers: admin, payload: { active: false } });
    expect(off.statusCode, off.body).toBe(200);
    await expect(issueStaffToken(ctx.db, 'agent.LN0101')).rejects.toMatchObject({ code: 'AUTH_ACCOUNT_INACTIVE', status: 401 });
    await expect(issueStaffToken(ctx.db, 'nobody')).rejects.toMatchObject({ code: 'STAFF_UNKNOWN' });

    // back at work, they get one again
    expect((await app.inject({ method: 'PATCH', url: '/api/v1/staff/agent.LN0101', headers: admin, payload: { active: true } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/v1/orders', headers: bearer(await issueStaffToken(ctx.db, 'agent.LN0101')) })).statusCode).toBe(200);
  });

  it('on the command line: a deactivated member gets exit code 2 and the reason, no token', async () => {
    expect((await zerotouch('seed', '--customers', '20')).code).toBe(0);
    const issued = await zerotouch('token', 'agent.LN0101');
    expect(issued.code, issued.stderr).toBe(0);
    expect(issued.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{32}$/);

    const database = await openDatabase({ dataDir });
    try {
      const s = await database.db.selectFrom('staff').select('id').where('code', '=', 'agent.LN0101').executeTakeFirstOrThrow();
      await setStaffActive(database.db, [Number(s.id)], false);
    } finally {
      await database.close();
    }
    const refused = await zerotouch('token', 'agent.LN0101');
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('error AUTH_ACCOUNT_INACTIVE: staff member agent.LN0101 is deactivated');
  }, 180_000);
});

