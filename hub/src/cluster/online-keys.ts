// Which of some keys have a live agent session now: on this hub (presence) or, when hubs are
// clustered, on any other (the session directory in Redis).
import type { Presence } from '../presence.ts';
import type { SessionDirectory } from './session-directory.ts';

export async function onlineKeys(presence: Presence, directory: SessionDirectory, keyIds: readonly string[]): Promise<Set<string>> {
  const online = new Set(keyIds.filter((keyId) => presence.isConnected(keyId)));
  if (directory.clustered) for (const keyId of await directory.onlineKeys([...keyIds])) online.add(keyId);
  return online;
}
