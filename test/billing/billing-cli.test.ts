import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zt-billing-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** `zerotouch bill …` on a scratch data folder (never the configured server): exit code and stderr. */
async function bill(...args: string[]): Promise<{ code: number; stderr: string }> {
  const { DATABASE_URL: _server, ...env } = process.env;
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'bill', ...args], {
      cwd: root, env: { ...env, ZEROTOUCH_DATA: path.join(tmp, 'data'), LOG_LEVEL: 'warn' }, timeout: 120_000,
    });
    return { code: 0, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    return { code: err.code ?? -1, stderr: err.stderr ?? '' };
  }
}

describe('zerotouch bill', () => {
  it('refuses a chunk size that is not a whole number from 1 with a stable code, before opening any run', async () => {
    for (const chunk of ['0', '-5', 'abc', '2.5']) {
      const r = await bill('--cycle', 'C01', '--period', '2026-02', '--chunk', chunk);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('error BILLING_CHUNK_SIZE_INVALID');
    }
    // nothing was opened: the data folder was never created
    expect(fs.existsSync(path.join(tmp, 'data'))).toBe(false);
  });

  it('refuses an --as-of that is not a date with a stable code, before opening the database', async () => {
    // 2026-02-30 is not 2 March, as JavaScript would have it
    for (const asOf of ['2026-02-30', '2026-02-30T10:00:00+08:00', 'yesterday']) {
      const r = await bill('--cycle', 'C01', '--period', '2026-02', '--as-of', asOf);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('error REQUEST_INVALID: --as-of takes a date');
    }
    expect(fs.existsSync(path.join(tmp, 'data'))).toBe(false);
  });
});
