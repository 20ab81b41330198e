// Which release keys this agent trusts: the config's `release_keys` (pinned by the installer), else
// <state>/release-keys.pub (pinned earlier), else the hub's /api/agents/release-keys, pinned now
// (first use). The supervisor reads the same file, so the effective keys are always written there.
import { z } from 'zod';
import { parseKeyList, readPinnedKeys, writePinnedKeys } from '@tether/shared/release/state-files.ts';
import type { Logger } from '@tether/shared/logger.ts';
import { fetchJson } from './http-download.ts';
import type { DownloadOptions } from './http-download.ts';

const hubKeysSchema = z.object({ keys: z.array(z.string()).max(100) });

export async function trustedReleaseKeys(options: { configured: readonly string[]; stateDir: string; keysUrl: string; download: DownloadOptions; log: Logger }): Promise<string[]> {
  const pinned = await readPinnedKeys(options.stateDir);
  if (options.configured.length > 0) {
    const configured = [...options.configured];
    if (configured.join('\n') !== pinned.join('\n')) await writePinnedKeys(options.stateDir, configured);
    return configured;
  }
  if (pinned.length > 0) return pinned;
  const answer = hubKeysSchema.safeParse(await fetchJson(options.keysUrl, 64 * 1024, options.download));
  if (!answer.success) throw new Error(`${options.keysUrl} did not answer { keys: [...] }`);
  const keys = parseKeyList(answer.data.keys.join('\n'));
  if (keys.length === 0) throw new Error(`no release keys are pinned and the hub lists none at ${options.keysUrl}; set release_keys in the agent config`);
  await writePinnedKeys(options.stateDir, keys);
  options.log.warn({ keys: keys.length }, 'release keys pinned at first use from the hub');
  return keys;
}
