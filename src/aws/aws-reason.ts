// What an AWS SDK failure was: the service's own error name and message, and the HTTP status.

export function awsReason(error: unknown): string {
  if (error instanceof Error) {
    const name = error.name && error.name !== 'Error' ? `${error.name}: ` : '';
    return name + error.message;
  }
  return String(error);
}

/** The HTTP status the service answered with, when the SDK recorded one. */
export function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return undefined;
  const metadata = error.$metadata;
  if (typeof metadata !== 'object' || metadata === null || !('httpStatusCode' in metadata)) return undefined;
  return typeof metadata.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

/** The service's error code (`NoSuchKey`, `PreconditionFailed`), which the SDK puts in the error's name. */
export function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}
