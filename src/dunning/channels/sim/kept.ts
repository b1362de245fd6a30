/**
 * How many messages a simulator keeps for inspection. Its counters go on counting past it, so the
 * long-running demo does not grow without end.
 */
export const KEEP_LIMIT = 200_000;

/** Keeps `item` while `list` holds fewer than KEEP_LIMIT. */
export function keep<T>(list: T[], item: T): void {
  if (list.length < KEEP_LIMIT) list.push(item);
}
