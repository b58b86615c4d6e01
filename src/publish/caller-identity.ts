// Who is promoting, for the pointer's promoted_by: the ARN that STS says the credentials belong to.
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { clientSettings } from '../aws/client-config.js';
import { awsReason } from '../aws/aws-reason.js';
import type { Logger } from '../log/logger.js';

/** The caller's ARN, or undefined (with a warning) when STS cannot say: promoted_by is a record, not a gate. */
export async function callerArn(region: string, logger: Logger): Promise<string | undefined> {
  const sts = new STSClient(clientSettings(region, 2));
  try {
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    return identity.Arn;
  } catch (error) {
    logger.warn(`cannot tell who is promoting (sts:GetCallerIdentity failed: ${awsReason(error)}): promoted_by is left out; pass --by NAME to set it`);
    return undefined;
  } finally {
    sts.destroy();
  }
}
