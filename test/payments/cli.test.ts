import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { registerPaymentsCommands } from '../../src/payments/index.ts';

// These refusals come before the command opens a database: the CLI runs in-process, and should a
// refusal go missing, the command opens a scratch data folder, never the configured database.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zt-payments-cli-'));
const saved = { data: process.env.ZEROTOUCH_DATA, url: process.env.DATABASE_URL };
beforeAll(() => {
  process.env.ZEROTOUCH_DATA = path.join(dir, 'data');
  delete process.env.DATABASE_URL;
});
afterAll(() => {
  for (const [k, v] of [['ZEROTOUCH_DATA', saved.data], ['DATABASE_URL', saved.url]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

function run(...args: string[]): Promise<unknown> {
  const program = new Command().exitOverride();
  registerPaymentsCommands(program);
  return program.parseAsync(args, { from: 'user' });
}

describe('payments CLI refuses bad input with a stable code', () => {
  it('an import or settlement file holding a NUL byte is refused with its line (as over HTTP), not failed in the database', async () => {
    const file = path.join(dir, 'nul.csv');
    fs.writeFileSync(file, 'channel,reference,customer_number,amount,currency,paid_on\nbank_counter,I1,2100000001,1.00,CNY,2026-03-01\nbank_counter,I\u00002,2100000001,1.00,CNY,2026-03-01\n');
    await expect(run('payments', 'import', file)).rejects.toMatchObject({ code: 'IMPORT_BODY_NOT_TEXT', message: expect.stringContaining('line 3') });
    await expect(run('payments', 'reconcile', file, '--channel', 'bank_counter', '--date', '2026-03-01')).rejects.toMatchObject({ code: 'IMPORT_BODY_NOT_TEXT' });
  });

  it('arrears --as-of takes a real date only', async () => {
    await expect(run('payments', 'arrears', '--as-of', '2026-02-30')).rejects.toMatchObject({ code: 'REQUEST_INVALID' });
  });
});
