// What a promotion makes of the pointer it read: a new stable version, a canary beside the stable one, or the canary dropped.
import type { Pointer } from '../artifacts/pointer.js';
import { UsageError } from '../errors.js';

export interface VerifiedRelease {
  version: string;
  sha256: string;
  size: number;
  signature?: string;
}

export type PromoteAction =
  | { kind: 'stable'; release: VerifiedRelease }
  | { kind: 'canary'; release: VerifiedRelease; percent: number }
  | { kind: 'abort-canary' };

export interface PromotionStamp {
  promoted_at: string;
  promoted_by?: string;
}

export interface PromotionPlan {
  /** The pointer to write, or undefined when nothing changes. */
  pointer: Pointer | undefined;
  /** What changed beyond the obvious, for the log. */
  notes: string[];
}

function stamped(pointer: Pointer, stamp: PromotionStamp): Pointer {
  return { ...pointer, promoted_at: stamp.promoted_at, ...(stamp.promoted_by !== undefined ? { promoted_by: stamp.promoted_by } : {}) };
}

/** The stable part of a pointer: its release, without canary and the previous promotion's fields. */
function stableOf(pointer: Pointer): Pointer {
  return {
    version: pointer.version,
    sha256: pointer.sha256,
    ...(pointer.size !== undefined ? { size: pointer.size } : {}),
    ...(pointer.signature !== undefined ? { signature: pointer.signature } : {}),
  };
}

function releaseFields(release: VerifiedRelease): Pointer {
  return {
    version: release.version,
    sha256: release.sha256,
    size: release.size,
    ...(release.signature !== undefined ? { signature: release.signature } : {}),
  };
}

/** `current` is the pointer read (undefined when there was none); `url` names it in messages. */
export function planPromotion(current: Pointer | undefined, action: PromoteAction, stamp: PromotionStamp, url: string): PromotionPlan {
  const notes: string[] = [];
  if (action.kind === 'stable') {
    const canary = current?.canary;
    if (canary !== undefined) {
      notes.push(
        canary.version === action.release.version
          ? `canary ${canary.version} (${canary.percent}%) is now the stable version`
          : `canary ${canary.version} (${canary.percent}%) dropped`,
      );
    }
    return { pointer: stamped(releaseFields(action.release), stamp), notes };
  }

  if (current === undefined) {
    throw new UsageError(
      action.kind === 'canary'
        ? `pointer ${url} has no stable version to keep beside a canary: promote a version without --canary first`
        : `pointer ${url} does not exist: there is no canary to abort`,
    );
  }
  if (action.kind === 'abort-canary') {
    if (current.canary === undefined) return { pointer: undefined, notes: [`pointer ${url} has no canary: nothing to abort`] };
    notes.push(`canary ${current.canary.version} (${current.canary.percent}%) dropped; every instance converges on ${current.version}`);
    return { pointer: stamped(stableOf(current), stamp), notes };
  }

  const { release, percent } = action;
  if (release.version === current.version) {
    throw new UsageError(`${release.version} is already the stable version in ${url}: a canary must be another version`);
  }
  if (current.canary !== undefined && current.canary.version !== release.version) {
    notes.push(`canary ${current.canary.version} (${current.canary.percent}%) replaced by ${release.version}`);
  }
  const canary = {
    version: release.version,
    sha256: release.sha256,
    percent,
    ...(release.signature !== undefined ? { signature: release.signature } : {}),
  };
  return { pointer: stamped({ ...stableOf(current), canary }, stamp), notes };
}
