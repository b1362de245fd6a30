import { existsSync, readFileSync } from 'node:fs';

/**
 * The DL/T 645 and Q/GDW 1376.1 conformance vectors (real frames from other projects' test suites,
 * each with its source: repository, path, commit). The project's reference set in ../shared/conformance,
 * beside the clone, is read when it is there (CI provides it, and it may hold more cases); a clone on
 * its own reads the copy in test/conformance, taken from it.
 */
const beside = new URL('../../../shared/conformance/', import.meta.url);
const inRepo = new URL('../conformance/', import.meta.url);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function loadConformance(name: 'dlt645_vectors.json' | 'q1376_vectors.json'): any {
  const file = existsSync(new URL(name, beside)) ? new URL(name, beside) : new URL(name, inRepo);
  return JSON.parse(readFileSync(file, 'utf8'));
}
