// The polling loop of the load balancer waits, and how states and timeouts read.
import { describe, expect, it } from 'vitest';
import { StepError } from '../../../src/errors.js';
import { describeState, notInServiceError, pollUntilDone, stillRegisteredError, type Observation } from '../../../src/lb/wait.js';

/** An observer answering the given observations in turn, the last one forever. */
function observing(...observations: Observation[]) {
  let calls = 0;
  const observe = async () => observations[Math.min(calls++, observations.length - 1)]!;
  return { observe, calls: () => calls };
}

const timedOut = (last: string) => new StepError(`timed out at ${last}`);

describe('pollUntilDone', () => {
  it('returns at once when the first observation is done', async () => {
    const observer = observing({ done: true, state: 'InService' });
    const started = performance.now();

    await pollUntilDone(observer.observe, { timeoutMs: 1000, intervalMs: 500 }, timedOut);

    expect(observer.calls()).toBe(1);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('observes again after each interval until done', async () => {
    const observer = observing({ done: false, state: 'OutOfService' }, { done: false, state: 'OutOfService' }, { done: true, state: 'InService' });
    const started = performance.now();

    await pollUntilDone(observer.observe, { timeoutMs: 5000, intervalMs: 30 }, timedOut);

    expect(observer.calls()).toBe(3);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('throws what timedOut builds from the last state, reading once more at the deadline', async () => {
    const observer = observing({ done: false, state: 'first' }, { done: false, state: 'second' });
    const started = performance.now();

    await expect(pollUntilDone(observer.observe, { timeoutMs: 100, intervalMs: 60 }, timedOut)).rejects.toThrow('timed out at second');

    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(95);
    expect(elapsed).toBeLessThan(400);
    // At 0, at 60, and at the 100 deadline (a shortened last sleep), not at 120.
    expect(observer.calls()).toBe(3);
  });

  it('passes a failing observation through', async () => {
    const observe = async (): Promise<Observation> => {
      throw new Error('AccessDenied');
    };
    await expect(pollUntilDone(observe, { timeoutMs: 100, intervalMs: 10 }, timedOut)).rejects.toThrow('AccessDenied');
  });
});

describe('describeState', () => {
  it('gives the state with its reason code and description', () => {
    expect(describeState('OutOfService', 'Instance', 'Instance has failed at least the UnhealthyThreshold number of health checks consecutively.')).toBe(
      'OutOfService (Instance: Instance has failed at least the UnhealthyThreshold number of health checks consecutively.)',
    );
  });

  it('leaves out parts that are missing or N/A', () => {
    expect(describeState('OutOfService', 'N/A', 'N/A')).toBe('OutOfService');
    expect(describeState('unused', undefined, 'Target is not registered')).toBe('unused (Target is not registered)');
    expect(describeState(undefined)).toBe('unknown state');
  });
});

describe('timeout messages', () => {
  it('says what was awaited, where, for how long, the last state and what to check', () => {
    const error = notInServiceError('i-0abc', 'target group web', 'healthy', 300_000, 'unhealthy (Target.Timeout: Request timed out)');
    expect(error).toBeInstanceOf(StepError);
    expect(error.message).toBe(
      'i-0abc is not healthy on target group web after 5m: last state unhealthy (Target.Timeout: Request timed out); ' +
        'check the health check of target group web and that the instance answers it (port, path, security group), or raise lb.wait_timeout',
    );
  });

  it('says draining may outlast the wait', () => {
    expect(stillRegisteredError('i-0abc', 'classic ELB web', 90_000, 'InService').message).toBe(
      'i-0abc is still registered with classic ELB web after 1m30s: last state InService; ' +
        'connection draining (deregistration delay) may last longer than lb.wait_timeout: raise it or shorten the draining',
    );
  });
});
