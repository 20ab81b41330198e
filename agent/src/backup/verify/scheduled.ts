// The runner of `verify.schedule`: a restore test of the target's newest local artifact.
import type { BackupConfig } from '../config-schema.ts';
import type { VerifyResult } from '../manifest.ts';
import { ArtifactStore } from '../store.ts';
import { restoreTestLocal } from './local.ts';

export function scheduledVerifyRunner(config: BackupConfig, stateDir: string, agentId: string): (target: string, signal: AbortSignal) => Promise<VerifyResult & { id: string }> {
  const store = new ArtifactStore(config, stateDir);
  return async (target, signal) => {
    const [newest] = await store.list(target);
    if (!newest) throw new Error(`target ${target} has no artifact on this host to restore-test yet`);
    return { id: newest.id, ...(await restoreTestLocal(config, store, newest, signal, agentId)) };
  };
}
