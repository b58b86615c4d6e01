// `promote`: verify the release, then move the environment's pointer with a conditional write against the pointer read.
import { pointerKey, type Pointer } from '../artifacts/pointer.js';
import { signRelease } from '../artifacts/signature.js';
import { ArtifactError } from '../errors.js';
import type { PublisherContext } from './publisher-context.js';
import { planPromotion, type PromoteAction, type VerifiedRelease } from './promote-plan.js';
import { readPointerState, writePointer } from './pointer-store.js';
import { verifyRelease } from './verify-release.js';

export type PromoteTarget = { kind: 'stable'; version: string } | { kind: 'canary'; version: string; percent: number } | { kind: 'abort-canary' };

export interface PromoteRequest {
  service: string;
  instance: string;
  target: PromoteTarget;
  /** PEM of the ed25519 private key to sign with, if any. */
  signKeyPem: string | undefined;
  expectedSha256: string | undefined;
  /** Hash the release's bytes even when publish recorded its sha256. */
  stream: boolean;
  dryRun: boolean;
  /** Who promotes: --by, else asked of STS when needed. */
  promoter: () => Promise<string | undefined>;
  now: () => Date;
}

export interface PromoteResult {
  url: string;
  /** The pointer as it now stands (or would, in a dry run). */
  pointer: Pointer | undefined;
  outcome: 'written' | 'unchanged' | 'dry-run';
}

async function releaseFor(context: PublisherContext, request: PromoteRequest, version: string): Promise<VerifiedRelease> {
  const release = await verifyRelease(context, request.service, version, { expectedSha256: request.expectedSha256, stream: request.stream });
  if (request.signKeyPem === undefined) return release;
  return { ...release, signature: signRelease(request.signKeyPem, { service: request.service, version, sha256: release.sha256 }) };
}

export async function promoteRelease(context: PublisherContext, request: PromoteRequest): Promise<PromoteResult> {
  const { s3, bucket, logger } = context;
  const { service, instance, target } = request;
  const state = await readPointerState(s3, bucket, pointerKey(context.prefix, service, instance));
  if (state.problem !== undefined) {
    if (target.kind !== 'stable') throw new ArtifactError(`${state.problem}; promote a version without --canary to replace it`);
    logger.warn(`replacing a pointer that agents refuse: ${state.problem}`);
  }

  const action: PromoteAction =
    target.kind === 'abort-canary'
      ? { kind: 'abort-canary' }
      : target.kind === 'canary' && target.percent < 100
        ? { kind: 'canary', release: await releaseFor(context, request, target.version), percent: target.percent }
        : { kind: 'stable', release: await releaseFor(context, request, target.version) };
  const promotedBy = await request.promoter();
  const stamp = { promoted_at: request.now().toISOString(), ...(promotedBy !== undefined ? { promoted_by: promotedBy } : {}) };
  const plan = planPromotion(state.pointer, action, stamp, state.url);
  for (const note of plan.notes) logger.info(note);
  if (plan.pointer === undefined) return { url: state.url, pointer: state.pointer, outcome: 'unchanged' };
  if (request.signKeyPem !== undefined && plan.pointer.signature === undefined) {
    logger.warn(
      `the stable version ${plan.pointer.version} kept in ${state.url} is not signed: agents with verify_keys refuse it; ` +
        `promote it again with --sign-key`,
    );
  }
  if (request.dryRun) {
    logger.info(`dry run: would write ${state.url}`);
    return { url: state.url, pointer: plan.pointer, outcome: 'dry-run' };
  }
  await writePointer(s3, state, plan.pointer);
  const was = state.pointer !== undefined ? ` (was ${describe(state.pointer)})` : '';
  logger.info(`${state.url} now names ${describe(plan.pointer)}${was}`);
  return { url: state.url, pointer: plan.pointer, outcome: 'written' };
}

function describe(pointer: Pointer): string {
  const canary = pointer.canary !== undefined ? ` with canary ${pointer.canary.version} at ${pointer.canary.percent}%` : '';
  return `${pointer.version}${canary}`;
}
