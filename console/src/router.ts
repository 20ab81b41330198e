// Hash routes (#/fleet, #/hosts/<key id>, #/keys, #/backups, #/history, #/audit, #/operators, #/rollouts[/<id>]): no server-side routing is needed, and the hub
// serves only the files that exist.
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'fleet' }
  | { page: 'host'; keyId: string }
  | { page: 'keys' }
  | { page: 'backups' }
  | { page: 'history' }
  | { page: 'audit' }
  | { page: 'operators' }
  | { page: 'rollouts'; rolloutId: string | null };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'hosts' && parts[1]) return { page: 'host', keyId: parts[1] };
  if (parts[0] === 'keys') return { page: 'keys' };
  if (parts[0] === 'backups') return { page: 'backups' };
  if (parts[0] === 'history') return { page: 'history' };
  if (parts[0] === 'audit') return { page: 'audit' };
  if (parts[0] === 'operators') return { page: 'operators' };
  if (parts[0] === 'rollouts') return { page: 'rollouts', rolloutId: parts[1] || null };
  return { page: 'fleet' };
}

export function hostHref(keyId: string): string {
  return `#/hosts/${encodeURIComponent(keyId)}`;
}

export function rolloutHref(rolloutId: string): string {
  return `#/rollouts/${encodeURIComponent(rolloutId)}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}
