import { Worker } from 'node:worker_threads';

/**
 * A worker thread running the module at `moduleUrl` (the caller's import.meta.url) with `data` as its
 * workerData. Run as TypeScript under tsx, the thread starts in worker-boot.mjs, which registers tsx
 * (found from there, not from the working directory, which may be anywhere) and then loads the module.
 */
export function moduleWorker(moduleUrl: string, data: Record<string, unknown>): Worker {
  return moduleUrl.endsWith('.ts')
    ? new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: { ...data, module: moduleUrl } })
    : new Worker(new URL(moduleUrl), { workerData: data });
}
