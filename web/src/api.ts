import { useCallback, useEffect, useRef, useState } from 'react';

/** The signed-in user as the login endpoints return it. */
export interface User {
  kind: 'staff' | 'customer' | 'system';
  id: number;
  name: string;
  role: string;
  orgId: number | null;
  orgPath: string;
  code?: string;
  number?: string;
  teamId?: number | null;
  org?: { code: string; name: string; nameEn: string; level: string } | null;
}

export class ApiError extends Error {
  constructor(readonly code: string, message: string, readonly status: number) {
    super(message);
  }
}

const TOKEN_KEY = 'zt.token';
const USER_KEY = 'zt.user';

export const session = {
  token: (): string | null => localStorage.getItem(TOKEN_KEY),
  user: (): User | null => {
    const raw = localStorage.getItem(USER_KEY);
    return raw ? (JSON.parse(raw) as User) : null;
  },
  save(token: string, user: User) {
    localStorage.setItem(TOKEN_KEY, token);
    localStorage.setItem(USER_KEY, JSON.stringify(user));
  },
  clear() {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(USER_KEY);
  },
};

export type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

/** Call the API; errors come back as { code, message } and are thrown as ApiError. */
export async function api<T>(path: string, opts: { method?: string; body?: unknown; query?: Query } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  const token = session.token();
  if (token) headers.authorization = `Bearer ${token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(withQuery(`/api/v1${path}`, opts.query), {
    method: opts.method ?? 'GET', headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    if (res.status === 401 && token) {
      session.clear();
      window.dispatchEvent(new Event('zt-signed-out'));
    }
    throw new ApiError(data?.code ?? 'HTTP_ERROR', data?.message ?? res.statusText, res.status);
  }
  return data as T;
}

/**
 * GET `path` (with `query`) on mount and whenever it changes (a `null` path waits), and keep the
 * answer; `refreshMs` polls it again on that period, quietly (no loading state, the previous data
 * stays shown until the new one arrives): the monitoring center moves by itself as the day-end
 * rollups land.
 */
export function useApi<T>(path: string | null, query?: Query, opts: { refreshMs?: number } = {}) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0);
  const [poll, setPoll] = useState(0);
  const shown = useRef<string | null>(null);
  const key = path === null ? null : withQuery(path, query);
  useEffect(() => {
    if (key === null) return;
    let live = true;
    // the same request again (a poll or a reload) keeps what is shown until the answer arrives
    if (shown.current !== key) setLoading(true);
    shown.current = key;
    api<T>(key)
      .then((d) => live && (setData(d), setError(undefined)))
      .catch((e: unknown) => live && setError(e instanceof ApiError ? e : new ApiError('NETWORK', String(e), 0)))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, tick, poll]);
  useEffect(() => {
    if (!opts.refreshMs || key === null) return;
    const timer = setInterval(() => setPoll((p) => p + 1), opts.refreshMs);
    return () => clearInterval(timer);
  }, [key, opts.refreshMs]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

export interface Page<T> {
  items: T[];
  total: number;
}
