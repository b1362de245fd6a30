import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(name = 'zerotouch'): Logger {
  const level = process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
  // synchronous writes: a line logged is on stdout at once, even while PGlite keeps the event loop busy
  // and even if the process is killed right after (pino's default buffers and writes on a later turn)
  return pino({ name, level }, pino.destination({ dest: 1, sync: true }));
}
