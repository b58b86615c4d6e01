// The pointer as publisher commands write it: one line of JSON, fields in a fixed order, optional ones only when set.
import type { CanaryPointer, Pointer } from '../artifacts/pointer.js';

function canaryFields(canary: CanaryPointer): CanaryPointer {
  return {
    version: canary.version,
    sha256: canary.sha256,
    percent: canary.percent,
    ...(canary.signature !== undefined ? { signature: canary.signature } : {}),
  };
}

export function formatPointer(pointer: Pointer): string {
  const ordered: Pointer = {
    version: pointer.version,
    sha256: pointer.sha256,
    ...(pointer.size !== undefined ? { size: pointer.size } : {}),
    ...(pointer.signature !== undefined ? { signature: pointer.signature } : {}),
    ...(pointer.canary !== undefined ? { canary: canaryFields(pointer.canary) } : {}),
    ...(pointer.promoted_at !== undefined ? { promoted_at: pointer.promoted_at } : {}),
    ...(pointer.promoted_by !== undefined ? { promoted_by: pointer.promoted_by } : {}),
  };
  return JSON.stringify(ordered) + '\n';
}
