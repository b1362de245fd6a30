/** Run tasks with at most `limit` at once; rejects with the first failure once every started task has settled. */
export async function runAll(tasks: (() => Promise<unknown>)[], limit: number): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < tasks.length) {
      const task = tasks[next++]!;
      await task().catch((e: unknown) => {
        failed = true;
        throw e;
      });
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, tasks.length) }, lane));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}
