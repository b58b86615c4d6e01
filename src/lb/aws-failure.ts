// Turns a failed AWS call of a load balancer into an AwsError saying what was tried and what the service answered.
import { AwsError, isPulldeployError } from '../errors.js';
import { awsReason } from '../aws/aws-reason.js';

/** Runs body; an SDK failure becomes `AwsError: cannot <what>: <service error>`, our own errors (timeouts) pass unchanged. */
export async function failingAs<T>(what: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (isPulldeployError(error)) throw error;
    throw new AwsError(`cannot ${what}: ${awsReason(error)}`, { cause: error });
  }
}
