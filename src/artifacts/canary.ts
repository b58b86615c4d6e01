// Canary cohorts: which nodes deploy a pointer's canary version, chosen so raising the percent only ever adds nodes.
import { createHash } from 'node:crypto';
import type { Pointer } from './pointer.js';

export interface ChosenRelease {
  version: string;
  sha256: string;
  signature?: string;
  /** True when this node is in the canary cohort and gets the canary version. */
  canary: boolean;
}

/**
 * The node's bucket, 0 to 99: the first 4 bytes of sha256("<service>:<service_node>") read as a big-endian
 * unsigned integer, modulo 100. It depends on nothing else, so a node's bucket never changes, and a node in
 * the cohort at some percent stays in it at every higher percent. The service name is mixed in so that each
 * service's canaries land on different nodes.
 */
export function canaryBucket(service: string, serviceNode: string): number {
  return createHash('sha256').update(`${service}:${serviceNode}`, 'utf8').digest().readUInt32BE(0) % 100;
}

/** The release this node deploys: the canary when the pointer has one and the node's bucket is below its percent, else the stable one. */
export function chooseRelease(pointer: Pointer, service: string, serviceNode: string): ChosenRelease {
  const { canary } = pointer;
  const chosen = canary !== undefined && canaryBucket(service, serviceNode) < canary.percent ? canary : pointer;
  return {
    version: chosen.version,
    sha256: chosen.sha256,
    ...(chosen.signature !== undefined ? { signature: chosen.signature } : {}),
    canary: chosen === canary,
  };
}
