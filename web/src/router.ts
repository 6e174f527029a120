import { useEffect, useState } from 'preact/hooks';

/**
 * Path routing under /console: /console/finance is the Finance page, and the server answers every
 * /console path with the app, so a deep link survives a reload. Paths here are without the base.
 */
export const base = '/console';

export function currentPath(): string {
  const p = location.pathname.startsWith(base) ? location.pathname.slice(base.length) : location.pathname;
  return p === '' ? '/' : p;
}

export function href(path: string): string {
  return `${base}${path === '/' ? '/' : path}`;
}

const listeners = new Set<() => void>();

export function navigate(path: string, opts: { replace?: boolean } = {}): void {
  const url = href(path);
  if (url !== location.pathname + location.search) history[opts.replace ? 'replaceState' : 'pushState'](null, '', url);
  for (const l of listeners) l();
}

/** The current path (without /console), re-rendering on navigation and on back/forward. */
export function usePath(): string {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const update = () => setPath(currentPath());
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return path;
}

/** A click on an in-app link navigates without reloading; modified clicks (new tab) stay the browser's. */
export function onLinkClick(e: MouseEvent, path: string): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(path);
}
