import { useCallback, useEffect, useState } from 'react';

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

/** Fetch on mount and whenever the path or query changes; `null` path waits. */
export function useApi<T>(path: string | null, query?: Query) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0);
  const key = path === null ? null : withQuery(path, query);
  useEffect(() => {
    if (key === null) return;
    let live = true;
    setLoading(true);
    api<T>(key)
      .then((d) => live && (setData(d), setError(undefined)))
      .catch((e: unknown) => live && setError(e instanceof ApiError ? e : new ApiError('NETWORK', String(e), 0)))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

export interface Page<T> {
  items: T[];
  total: number;
}
