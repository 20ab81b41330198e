// Which artifacts a retention policy removes: beyond the newest `keep`, or older than `max_age_days`.
import type { Manifest } from './manifest.ts';

export interface RetentionPolicy {
  keep?: number | undefined;
  max_age_days?: number | undefined;
}

/** `manifests` newest first. The newest artifact is never removed by age alone. */
export function selectExpired(manifests: Manifest[], policy: RetentionPolicy, now = Date.now()): Manifest[] {
  return manifests.filter((manifest, index) => {
    if (policy.keep !== undefined && index >= policy.keep) return true;
    if (policy.max_age_days !== undefined && index > 0) {
      return now - Date.parse(manifest.created_at) > policy.max_age_days * 86_400_000;
    }
    return false;
  });
}
