// The release work that needs node:crypto, done by `tether-supervisor release-task`: a child the
// supervisor starts only when an update or a check of installed versions is due, so the
// long-lived supervisor never loads node:crypto (~1.75 MB USS; shared/src/node-crypto.ts).
// The child gets one task over its IPC channel, answers with one result and exits; it exits too
// when the supervisor goes away (IPC disconnect), so a killed supervisor leaves no child behind.
import { rm } from 'node:fs/promises';
import { makePrivateCopyDir, stageRelease } from '@tether/shared/release/install.ts';
import { hostPlatform } from '@tether/shared/release/manifest.ts';
import { checkInstalled, recordInstalled } from '@tether/shared/release/state-files.ts';
import type { InstalledCheck } from '@tether/shared/release/state-files.ts';
import { isValidVersion } from '@tether/shared/release/versions.ts';
import { verifyRelease } from '@tether/shared/release/verify.ts';
import { pauseForTest } from '@tether/shared/release/test-pause.ts';

/** Checks an installed version against its install record (signature, every file's sha256). */
export interface CheckInstalledTask {
  kind: 'check-installed';
  stateDir: string;
  version: string;
  keys: string[];
}

/**
 * Verifies a release and installs it from the very bytes that verified: the tarball is copied into
 * a private directory while it is hashed, and tar reads that copy, never the original path again
 * (issue 9 item 16). Then the install record is written.
 */
export interface VerifyAndStageTask {
  kind: 'verify-and-stage';
  stateDir: string;
  version: string;
  manifestPath: string;
  signaturePath: string;
  tarballPath: string;
  replaceCurrent: boolean;
  keys: string[];
}

export type ReleaseTask = CheckInstalledTask | VerifyAndStageTask;

export type ReleaseTaskResult = { ok: true; check?: InstalledCheck } | { ok: false; error: string };

const MAX_PATH = 4096;
const MAX_KEYS = 64;

function isPath(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('/') && value.length <= MAX_PATH && !value.includes('\0');
}

/** Checks a task by hand (no zod in the supervisor); the problem says which field is wrong. */
export function parseReleaseTask(value: unknown): { ok: true; task: ReleaseTask } | { ok: false; problem: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, problem: 'a release task must be a JSON object' };
  const record = value as Record<string, unknown>;
  if (record.kind !== 'check-installed' && record.kind !== 'verify-and-stage') return { ok: false, problem: 'kind must be "check-installed" or "verify-and-stage"' };
  if (!isPath(record.stateDir)) return { ok: false, problem: 'stateDir must be an absolute path' };
  if (typeof record.version !== 'string' || !isValidVersion(record.version)) return { ok: false, problem: 'version must be a semver version' };
  const keys = record.keys;
  if (!Array.isArray(keys) || keys.length > MAX_KEYS || !keys.every((key) => typeof key === 'string' && key.length <= 100)) {
    return { ok: false, problem: `keys must be an array of at most ${MAX_KEYS} base64 public keys` };
  }
  const common = { stateDir: record.stateDir, version: record.version, keys: keys as string[] };
  if (record.kind === 'check-installed') return { ok: true, task: { kind: 'check-installed', ...common } };
  for (const name of ['manifestPath', 'signaturePath', 'tarballPath'] as const) {
    if (!isPath(record[name])) return { ok: false, problem: `${name} must be an absolute path` };
  }
  if (typeof record.replaceCurrent !== 'boolean') return { ok: false, problem: 'replaceCurrent must be true or false' };
  return {
    ok: true,
    task: {
      kind: 'verify-and-stage',
      ...common,
      manifestPath: record.manifestPath as string,
      signaturePath: record.signaturePath as string,
      tarballPath: record.tarballPath as string,
      replaceCurrent: record.replaceCurrent,
    },
  };
}

async function verifyAndStage(task: VerifyAndStageTask): Promise<void> {
  const privateDir = await makePrivateCopyDir(task.stateDir);
  try {
    const verified = await verifyRelease({
      manifestPath: task.manifestPath,
      signaturePath: task.signaturePath,
      tarballPath: task.tarballPath,
      trustedKeys: task.keys,
      expectedVersion: task.version,
      expectedPlatform: hostPlatform(),
      privateCopyDir: privateDir,
    });
    await pauseForTest('supervisor:extract');
    await stageRelease(verified.tarballPath, task.stateDir, task.version, { replaceCurrent: task.replaceCurrent });
    await recordInstalled(task.stateDir, task.version, { manifest: verified.manifestBytes, signature: verified.signature });
  } finally {
    await rm(privateDir, { recursive: true, force: true });
  }
}

export async function runReleaseTask(task: ReleaseTask): Promise<ReleaseTaskResult> {
  try {
    if (task.kind === 'check-installed') return { ok: true, check: await checkInstalled(task.stateDir, task.version, task.keys) };
    await verifyAndStage(task);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

/** `tether-supervisor release-task`: the child's side. Started only by the supervisor, with IPC. */
export async function releaseTaskChild(): Promise<number> {
  const send = process.send?.bind(process);
  if (send === undefined) {
    process.stderr.write('tether-supervisor release-task: internal; the supervisor starts it with an IPC channel\n');
    return 2;
  }
  // The supervisor is gone (killed): stop at once, it restarts the work from its state files.
  process.once('disconnect', () => process.exit(1));
  const message = await new Promise<unknown>((resolve) => process.once('message', resolve));
  const parsed = parseReleaseTask(message);
  const result: ReleaseTaskResult = parsed.ok ? await runReleaseTask(parsed.task) : { ok: false, error: `invalid release task: ${parsed.problem}` };
  await new Promise<void>((resolve) => send(result, () => resolve()));
  return 0;
}
