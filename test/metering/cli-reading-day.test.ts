/**
 * The metering commands work on a reading day: the one `--as-of` names, else yesterday, the last day whose
 * registers have frozen (today's freeze at the coming midnight; its readings are not in yet).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { addDays, businessDate } from '../../src/platform/index.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zt-metering-cli-'));

/** `zerotouch … --json` on a scratch data folder (never the configured server), its output parsed. */
async function zerotouch(...args: string[]): Promise<{ day: string }> {
  const { DATABASE_URL: _server, ...env } = process.env;
  const r = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args, '--json'], {
    cwd: root, env: { ...env, ZEROTOUCH_DATA: path.join(tmp, 'data'), LOG_LEVEL: 'warn' }, timeout: 120_000,
  });
  return JSON.parse(r.stdout);
}
/** Yesterday in Shanghai, read before and after a command (a run across midnight may see either). */
const yesterday = () => addDays(businessDate(new Date()), -1);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('the reading day of the metering commands', () => {
  it('is yesterday without --as-of, for the rollup, the VEE run and the metering day', async () => {
    for (const command of [['metering', 'rollup'], ['vee'], ['metering', 'day']]) {
      const before = yesterday();
      const { day } = await zerotouch(...command);
      expect([before, yesterday()], command.join(' ')).toContain(day);
    }
  }, 240_000);

  it('is the day --as-of names', async () => {
    expect((await zerotouch('metering', 'rollup', '--as-of', '2026-03-05')).day).toBe('2026-03-05');
    expect((await zerotouch('vee', '--as-of', '2026-03-05')).day).toBe('2026-03-05');
  }, 240_000);
});
