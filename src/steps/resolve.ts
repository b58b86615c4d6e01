// Step 3: read the base and service pointers, pick the canary or stable release, and check its signature.
import type { KeyObject } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { Grains } from '../identity/grains.js';
import { chooseRelease } from '../artifacts/canary.js';
import { parsePointer, pointerKey, type Pointer } from '../artifacts/pointer.js';
import { verifyReleaseSignature } from '../artifacts/signature.js';
import type { ArtifactStore } from '../artifacts/store.js';

/** The release one pointer names for this node, verified. */
export interface ResolvedRelease {
  service: string;
  pointer: Pointer;
  /** The pointer object's ETag, for the next conditional read. */
  etag: string | undefined;
  version: string;
  sha256: string;
  /** True when this node is in the canary cohort and gets the canary version. */
  canary: boolean;
}

export interface ResolvedPointers {
  base: ResolvedRelease;
  service: ResolvedRelease;
}

export type PointerRead = { status: 'unchanged' } | { status: 'found'; pointer: Pointer; etag: string | undefined };

/** Reads one pointer; with an ETag, a conditional GET that costs a 304 and no body when nothing moved. */
export async function readPointer(
  store: ArtifactStore,
  config: Config,
  service: string,
  instance: string,
  etag?: string,
): Promise<PointerRead> {
  const key = pointerKey(config.prefix, service, instance);
  const result = await store.readPointer(key, etag);
  if (result.status === 'unchanged') return result;
  return { status: 'found', pointer: parsePointer(result.text, store.url(key)), etag: result.etag };
}

/** Both pointers, read in parallel; when both fail, the service's error is the one reported. */
export async function readBothPointers(
  store: ArtifactStore,
  config: Config,
  grains: Grains,
  etags: { base?: string; service?: string } = {},
): Promise<{ base: PointerRead; service: PointerRead }> {
  const [base, service] = await Promise.allSettled([
    readPointer(store, config, config.base_service, grains.service_instance, etags.base),
    readPointer(store, config, grains.service_name, grains.service_instance, etags.service),
  ]);
  // The service's own pointer is the one a person is most likely to have forgotten to promote.
  if (service.status === 'rejected') throw service.reason;
  if (base.status === 'rejected') throw base.reason;
  return { base: base.value, service: service.value };
}

/** Picks this node's release from a pointer and, when keys are configured, refuses it unless one of them signed it. */
export function selectRelease(
  service: string,
  read: { pointer: Pointer; etag: string | undefined },
  grains: Grains,
  keys: KeyObject[],
  pointerUrl: string,
): ResolvedRelease {
  const chosen = chooseRelease(read.pointer, service, grains.service_node);
  if (keys.length > 0) {
    verifyReleaseSignature({
      service,
      version: chosen.version,
      sha256: chosen.sha256,
      signature: chosen.signature,
      keys,
      url: pointerUrl,
    });
  }
  return { service, pointer: read.pointer, etag: read.etag, version: chosen.version, sha256: chosen.sha256, canary: chosen.canary };
}

export function describeResolved(release: ResolvedRelease): string {
  return `${release.service} ${release.version}${release.canary ? ' (canary)' : ''}`;
}
