// The User-Agent of requests pulldeploy makes without the SDK, so S3 access logs tell callers apart as for the SDK's.
import { pulldeployVersion } from '../version.js';

/** pulldeploy and its version, with the `app/<id>` the SDK adds from AWS_SDK_UA_APP_ID. */
export function userAgentOf(env: NodeJS.ProcessEnv): string {
  const app = env.AWS_SDK_UA_APP_ID;
  return `pulldeploy/${pulldeployVersion}${app ? ` app/${app}` : ''}`;
}
