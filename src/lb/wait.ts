// Waiting on a load balancer: the polling loop, and the messages of the states it saw and of its timeouts.
import { setTimeout as sleep } from 'node:timers/promises';
import { StepError } from '../errors.js';
import { formatDuration } from '../log/format-duration.js';

export interface Observation {
  done: boolean;
  /** What the load balancer said, for the timeout message: `OutOfService (Instance: Instance has failed …)`. */
  state: string;
}

/**
 * Observes until done, sleeping intervalMs between reads; throws what timedOut builds from the last state once
 * timeoutMs has passed. The last read happens at the deadline, not before it.
 */
export async function pollUntilDone(
  observe: () => Promise<Observation>,
  timing: { timeoutMs: number; intervalMs: number },
  timedOut: (lastState: string) => Error,
): Promise<void> {
  const started = performance.now();
  let lastRead = false;
  for (;;) {
    const seen = await observe();
    const elapsedMs = performance.now() - started;
    if (seen.done) return;
    const remainingMs = timing.timeoutMs - elapsedMs;
    // Timers may wake a fraction of a millisecond early: the read after the sleep that reaches the deadline is the last.
    if (remainingMs <= 0 || lastRead) throw timedOut(seen.state);
    lastRead = remainingMs <= timing.intervalMs;
    await sleep(Math.min(timing.intervalMs, remainingMs));
  }
}

/** `OutOfService (Instance: Instance has failed …)`; parts the service leaves empty or `N/A` are left out. */
export function describeState(state: string | undefined, reasonCode?: string, description?: string): string {
  const given = (text: string | undefined) => (text && text !== 'N/A' ? text : undefined);
  const reason = [given(reasonCode), given(description)].filter((part) => part !== undefined).join(': ');
  const name = given(state) ?? 'unknown state';
  return reason ? `${name} (${reason})` : name;
}

export function notInServiceError(instanceId: string, loadBalancer: string, goal: string, timeoutMs: number, lastState: string): StepError {
  return new StepError(
    `${instanceId} is not ${goal} on ${loadBalancer} after ${formatDuration(timeoutMs)}: last state ${lastState}; ` +
      `check the health check of ${loadBalancer} and that the instance answers it (port, path, security group), or raise lb.wait_timeout`,
  );
}

export function stillRegisteredError(instanceId: string, loadBalancer: string, timeoutMs: number, lastState: string): StepError {
  return new StepError(
    `${instanceId} is still registered with ${loadBalancer} after ${formatDuration(timeoutMs)}: last state ${lastState}; ` +
      `connection draining (deregistration delay) may last longer than lb.wait_timeout: raise it or shorten the draining`,
  );
}
