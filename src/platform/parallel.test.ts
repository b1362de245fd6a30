import { describe, expect, it } from 'vitest';
import { runAll } from './parallel.ts';

const tick = () => new Promise<void>((r) => setTimeout(r, 5));

describe('runAll', () => {
  it('runs every task, never more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await runAll(Array.from({ length: 7 }, (_, i) => async () => {
      running++;
      most = Math.max(most, running);
      await tick();
      running--;
      done.push(i);
    }), 2);
    expect(most).toBe(2);
    expect(done.sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('fails with the first failure once the started tasks settled, and starts no new task after it', async () => {
    const started: number[] = [];
    let settled = 0;
    const run = runAll(Array.from({ length: 6 }, (_, i) => async () => {
      started.push(i);
      await tick();
      settled++;
      if (i === 1) throw new Error('task 1 failed');
    }), 2);
    await expect(run).rejects.toThrow('task 1 failed');
    expect(settled).toBe(started.length);
    expect(started.length).toBeLessThan(6);
  });
});
