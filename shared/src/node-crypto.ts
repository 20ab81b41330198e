// node:crypto, loaded at its first use instead of at import. The supervisor bundles the release
// code (hashing, signatures) but runs all of it in a short-lived child process
// (supervisor/src/versions/release-task.ts): with a static import, bundling would load node:crypto
// (~1.75 MB USS) into the long-lived supervisor all the same.
import type * as NodeCrypto from 'node:crypto';

let loaded: typeof NodeCrypto | undefined;

export function nodeCrypto(): typeof NodeCrypto {
  loaded ??= process.getBuiltinModule('node:crypto');
  return loaded;
}
