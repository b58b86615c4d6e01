// Awaits a promise that must reject and answers its Error, so a test can assert on the type and message apart.
import { expect } from 'vitest';

export async function failure(promise: Promise<unknown>): Promise<Error> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}
