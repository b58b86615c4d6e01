// The service's own error name and message, which say more than the SDK's wrapper.

export function awsReason(error: unknown): string {
  if (error instanceof Error) {
    const name = error.name && error.name !== 'Error' ? `${error.name}: ` : '';
    return name + error.message;
  }
  return String(error);
}
