// The errno-style code (ENOENT, ESRCH, …) of a thrown Node.js system error.

export function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}
