import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api, Role } from './api/client.ts';

/** The API key lives in sessionStorage: gone when the tab closes, never in localStorage or a cookie. */
const storageKey = 'tally.console.apiKey';

export const storedKey = (): string | null => sessionStorage.getItem(storageKey);
export const storeKey = (key: string): void => sessionStorage.setItem(storageKey, key);
export const forgetKey = (): void => sessionStorage.removeItem(storageKey);

export interface Session {
  /** The key's name and role as the API reported them (GET /v1/whoami). */
  name: string;
  role: Role;
  /** The IANA zone the server counts business days in (TALLY_REPORTING_TZ), as GET /v1/whoami reports it. */
  reportingTimeZone: string;
  /** The typed API client, sending the key. */
  api: Api;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

/** The signed-in session; pages are rendered only inside one. */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in console');
  return s;
}
