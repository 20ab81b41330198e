// Upgrade from hubs that kept restore test results as files beside the artifacts
// (<dataDir>/artifacts/<key id>/<id>.verify.json): at start each is moved into the store, unless
// the store has a result for that artifact already (a newer test, or another hub moved it), and the
// file is removed. A file that does not parse is left where it is and named in the log.
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '@tether/shared/logger.ts';
import type { HubStore } from '../store/store.ts';
import { ARTIFACT_ID, artifactDir } from './upload-handler.ts';
import { KEY_ID } from './stored-artifacts.ts';
import { verifyResultBodySchema } from './verify-host-handlers.ts';

const SUFFIX = '.verify.json';
const storedFileSchema = verifyResultBodySchema.extend({ verify_key_id: z.string().min(1), received_at: z.string() });

/** Returns how many results were moved into the store. */
export async function importVerifyFiles(dataDir: string, store: Pick<HubStore, 'getVerifyResult' | 'putVerifyResult'>, log: Logger): Promise<number> {
  let moved = 0;
  const keyIds = (await readdir(join(dataDir, 'artifacts')).catch(() => [] as string[])).filter((name) => KEY_ID.test(name));
  for (const keyId of keyIds) {
    const dir = artifactDir(dataDir, keyId);
    const files = (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith(SUFFIX) && ARTIFACT_ID.test(name.slice(0, -SUFFIX.length)));
    for (const file of files) {
      const artifactId = file.slice(0, -SUFFIX.length);
      const path = join(dir, file);
      let parsed: z.infer<typeof storedFileSchema>;
      try {
        parsed = storedFileSchema.parse(JSON.parse(await readFile(path, 'utf8')));
      } catch (error) {
        log.warn({ path, err: (error as Error).message }, 'a restore test result file of an older hub does not parse; left as it is');
        continue;
      }
      if (!(await store.getVerifyResult(keyId, artifactId))) {
        await store.putVerifyResult({ ...parsed, key_id: keyId, artifact_id: artifactId });
        moved += 1;
      }
      await rm(path, { force: true });
    }
  }
  if (moved > 0) log.info({ moved }, 'restore test results moved from .verify.json files into the store');
  return moved;
}
