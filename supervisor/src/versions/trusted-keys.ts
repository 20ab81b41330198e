// Release keys the supervisor trusts: TETHER_RELEASE_KEYS (comma-separated, from the service
// environment) and <state>/release-keys.pub (pinned by deploy.sh or by the agent).
import { parseKeyList, readPinnedKeys } from '@tether/shared/release/state-files.ts';

export async function trustedKeys(stateDir: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const keys = parseKeyList(env.TETHER_RELEASE_KEYS ?? '');
  for (const key of await readPinnedKeys(stateDir)) if (!keys.includes(key)) keys.push(key);
  return keys;
}
