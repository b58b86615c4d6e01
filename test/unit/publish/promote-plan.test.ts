// The pointer a promotion writes: stable, canary beside the kept stable version, canary made stable or dropped; and its JSON form.
import { describe, expect, it } from 'vitest';
import type { Pointer } from '../../../src/artifacts/pointer.js';
import { UsageError } from '../../../src/errors.js';
import { formatPointer } from '../../../src/publish/pointer-json.js';
import { planPromotion, type VerifiedRelease } from '../../../src/publish/promote-plan.js';

const url = 's3://b/deploy/myapp/production/current';
const stamp = { promoted_at: '2026-11-22T10:00:00.000Z', promoted_by: 'ci-bot' };
const release = (version: string, letter: string, signature?: string): VerifiedRelease => ({
  version,
  sha256: letter.repeat(64),
  size: 100,
  ...(signature !== undefined ? { signature } : {}),
});
const current: Pointer = { version: '1.0', sha256: 'a'.repeat(64), size: 90, signature: 'c2lnLTEuMA==', promoted_at: '2026-11-01T00:00:00Z', promoted_by: 'someone' };

describe('planPromotion', () => {
  it('makes a release the stable version, with the new promotion fields only', () => {
    expect(planPromotion(current, { kind: 'stable', release: release('1.1', 'b', 'c2ln') }, stamp, url)).toEqual({
      pointer: { version: '1.1', sha256: 'b'.repeat(64), size: 100, signature: 'c2ln', ...stamp },
      notes: [],
    });
    expect(planPromotion(undefined, { kind: 'stable', release: release('1.0', 'a') }, { promoted_at: stamp.promoted_at }, url).pointer).toEqual({
      version: '1.0',
      sha256: 'a'.repeat(64),
      size: 100,
      promoted_at: stamp.promoted_at,
    });
  });

  it('keeps the stable version, its size and signature, beside a new canary', () => {
    const plan = planPromotion(current, { kind: 'canary', release: release('1.1', 'b', 'Y2FuYXJ5'), percent: 10 }, stamp, url);
    expect(plan.pointer).toEqual({
      version: '1.0',
      sha256: 'a'.repeat(64),
      size: 90,
      signature: 'c2lnLTEuMA==',
      canary: { version: '1.1', sha256: 'b'.repeat(64), percent: 10, signature: 'Y2FuYXJ5' },
      ...stamp,
    });
  });

  it('notes a canary replaced by another, made stable, or dropped', () => {
    const withCanary: Pointer = { ...current, canary: { version: '1.1', sha256: 'b'.repeat(64), percent: 10 } };
    expect(planPromotion(withCanary, { kind: 'canary', release: release('1.2', 'c'), percent: 20 }, stamp, url).notes).toEqual([
      'canary 1.1 (10%) replaced by 1.2',
    ]);
    expect(planPromotion(withCanary, { kind: 'canary', release: release('1.1', 'b'), percent: 30 }, stamp, url).notes).toEqual([]);
    expect(planPromotion(withCanary, { kind: 'stable', release: release('1.1', 'b') }, stamp, url).notes).toEqual([
      'canary 1.1 (10%) is now the stable version',
    ]);
    expect(planPromotion(withCanary, { kind: 'stable', release: release('1.2', 'c') }, stamp, url)).toMatchObject({
      pointer: { version: '1.2' },
      notes: ['canary 1.1 (10%) dropped'],
    });
    const aborted = planPromotion(withCanary, { kind: 'abort-canary' }, stamp, url);
    expect(aborted.pointer).toEqual({ version: '1.0', sha256: 'a'.repeat(64), size: 90, signature: 'c2lnLTEuMA==', ...stamp });
    expect(aborted.notes).toEqual(['canary 1.1 (10%) dropped; every instance converges on 1.0']);
  });

  it('changes nothing when aborting where there is no canary', () => {
    expect(planPromotion(current, { kind: 'abort-canary' }, stamp, url)).toEqual({ pointer: undefined, notes: [`pointer ${url} has no canary: nothing to abort`] });
  });

  it('refuses a canary or an abort without a pointer, and a canary of the stable version', () => {
    expect(() => planPromotion(undefined, { kind: 'canary', release: release('1.1', 'b'), percent: 10 }, stamp, url)).toThrow(
      new UsageError(`pointer ${url} has no stable version to keep beside a canary: promote a version without --canary first`),
    );
    expect(() => planPromotion(undefined, { kind: 'abort-canary' }, stamp, url)).toThrow(`pointer ${url} does not exist: there is no canary to abort`);
    expect(() => planPromotion(current, { kind: 'canary', release: release('1.0', 'a'), percent: 10 }, stamp, url)).toThrow(
      `1.0 is already the stable version in ${url}: a canary must be another version`,
    );
  });
});

describe('formatPointer', () => {
  it('writes one line of JSON with the fields in a fixed order, optional ones only when set', () => {
    const pointer = {
      promoted_by: 'ci-bot',
      canary: { signature: 'Y2FuYXJ5', percent: 10, sha256: 'b'.repeat(64), version: '1.1' },
      promoted_at: '2026-11-22T10:00:00.000Z',
      signature: 'c2ln',
      size: 90,
      sha256: 'a'.repeat(64),
      version: '1.0',
    };
    expect(formatPointer(pointer)).toBe(
      `{"version":"1.0","sha256":"${'a'.repeat(64)}","size":90,"signature":"c2ln",` +
        `"canary":{"version":"1.1","sha256":"${'b'.repeat(64)}","percent":10,"signature":"Y2FuYXJ5"},` +
        '"promoted_at":"2026-11-22T10:00:00.000Z","promoted_by":"ci-bot"}\n',
    );
    expect(formatPointer({ version: '1.0', sha256: 'a'.repeat(64) })).toBe(`{"version":"1.0","sha256":"${'a'.repeat(64)}"}\n`);
  });
});
