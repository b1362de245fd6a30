import { useEffect, useState } from 'react';

/** A tiny history router: the app has a handful of top-level pages and keeps state in the query. */
export interface Route {
  path: string;
  query: URLSearchParams;
}

const current = (): Route => ({ path: window.location.pathname, query: new URLSearchParams(window.location.search) });

export function navigate(to: string, replace = false): void {
  if (replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.dispatchEvent(new Event('zt-navigate'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const on = () => setRoute(current());
    window.addEventListener('popstate', on);
    window.addEventListener('zt-navigate', on);
    return () => {
      window.removeEventListener('popstate', on);
      window.removeEventListener('zt-navigate', on);
    };
  }, []);
  return route;
}

/** Replace some query parameters of the current page. */
export function setQuery(changes: Record<string, string | number | undefined | null>): void {
  const q = new URLSearchParams(window.location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === null || v === '') q.delete(k);
    else q.set(k, String(v));
  }
  const s = q.toString();
  navigate(`${window.location.pathname}${s ? `?${s}` : ''}`);
}
