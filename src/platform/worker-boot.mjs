// A worker thread's start when the code runs as TypeScript under tsx: registers tsx's loader (found
// from this file, not from the working directory, which may be anywhere), then loads the module.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
