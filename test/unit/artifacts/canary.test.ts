// Canary cohorts: the bucket is stable and evenly spread, raising the percent only adds nodes, and the right release is chosen.
import { describe, expect, it } from 'vitest';
import { canaryBucket, chooseRelease } from '../../../src/artifacts/canary.js';
import { parsePointer, type Pointer } from '../../../src/artifacts/pointer.js';

/** 1 000 node ids shaped like real ones (an instance id without "i-"), fixed so the shares below never flake. */
const nodes = Array.from({ length: 1000 }, (_, index) => `0${(index * 2654435761).toString(16).padStart(16, '0').slice(-16)}`);

const cohort = (service: string, percent: number) => nodes.filter((node) => canaryBucket(service, node) < percent);

const stable = { version: '1.0', sha256: 'ab'.repeat(32) };
const canary = { version: '1.1', sha256: 'cd'.repeat(32) };

describe('canaryBucket', () => {
  it('is the documented hash: sha256 of "<service>:<node>", first 4 bytes big-endian, mod 100', () => {
    // printf 'myapp:0abc898900' | sha256sum starts with ef6175eb; 0xef6175eb = 4016141803, and 4016141803 mod 100 = 3.
    expect(canaryBucket('myapp', '0abc898900')).toBe(3);
  });

  it('always answers the same bucket, from 0 to 99', () => {
    for (const node of nodes.slice(0, 50)) {
      const bucket = canaryBucket('myapp', node);
      expect(bucket).toBe(canaryBucket('myapp', node));
      expect(Number.isInteger(bucket) && bucket >= 0 && bucket < 100).toBe(true);
    }
  });

  it.each([1, 5, 10, 30, 50, 90])('puts %i%% ± 3 of 1 000 nodes in the cohort', (percent) => {
    for (const service of ['myapp', 'billing-api']) {
      const share = (cohort(service, percent).length / nodes.length) * 100;
      expect(Math.abs(share - percent)).toBeLessThanOrEqual(3);
    }
  });

  it('keeps every node of the 10% cohort when raised to 30%', () => {
    const ten = cohort('myapp', 10);
    const thirty = new Set(cohort('myapp', 30));
    expect(ten.length).toBeGreaterThan(0);
    expect(thirty.size).toBeGreaterThan(ten.length);
    for (const node of ten) expect(thirty.has(node)).toBe(true);
  });

  it('draws a different cohort for each service', () => {
    expect(cohort('myapp', 10)).not.toEqual(cohort('billing-api', 10));
  });
});

describe('chooseRelease', () => {
  const inCohort = nodes.find((node) => canaryBucket('myapp', node) < 10) ?? '';
  const outside = nodes.find((node) => canaryBucket('myapp', node) >= 10) ?? '';

  it('answers the stable release of a pointer without canary', () => {
    expect(chooseRelease({ ...stable, signature: 'c2ln' }, 'myapp', inCohort)).toEqual({ ...stable, signature: 'c2ln', canary: false });
    expect(chooseRelease(stable, 'myapp', inCohort)).toEqual({ ...stable, canary: false });
  });

  it('answers the canary, with its own signature, to a node in the cohort', () => {
    const pointer: Pointer = { ...stable, signature: 'c3RhYmxl', canary: { ...canary, percent: 10, signature: 'Y2FuYXJ5' } };
    expect(chooseRelease(pointer, 'myapp', inCohort)).toEqual({ ...canary, signature: 'Y2FuYXJ5', canary: true });
    expect(chooseRelease(pointer, 'myapp', outside)).toEqual({ ...stable, signature: 'c3RhYmxl', canary: false });
  });

  it('gives the canary to every node at 100% and to none at 0%', () => {
    for (const node of nodes.slice(0, 100)) {
      expect(chooseRelease({ ...stable, canary: { ...canary, percent: 100 } }, 'myapp', node).version).toBe('1.1');
      expect(chooseRelease({ ...stable, canary: { ...canary, percent: 0 } }, 'myapp', node).version).toBe('1.0');
    }
  });

  it('reads the canary signature from pointer JSON, and refuses one that is not a string', () => {
    const url = 's3://b/deploy/myapp/testing/current';
    const text = JSON.stringify({ ...stable, canary: { ...canary, percent: 10, signature: 'Y2FuYXJ5' } });
    expect(parsePointer(text, url).canary).toEqual({ ...canary, percent: 10, signature: 'Y2FuYXJ5' });
    expect(() => parsePointer(JSON.stringify({ ...stable, canary: { ...canary, percent: 10, signature: 7 } }), url)).toThrow(
      `pointer ${url} is invalid: "canary.signature" must be a string`,
    );
  });
});
