// The User-Agent of the light S3 reads: pulldeploy's own, with the SDK's app id when one is set.
import { describe, expect, it } from 'vitest';
import { userAgentOf } from '../../../src/aws/user-agent.js';
import { pulldeployVersion } from '../../../src/version.js';

describe('userAgentOf', () => {
  it('names pulldeploy and its version, with the app id the SDK would add when AWS_SDK_UA_APP_ID is set', () => {
    expect(userAgentOf({})).toBe(`pulldeploy/${pulldeployVersion}`);
    expect(userAgentOf({ AWS_SDK_UA_APP_ID: '' })).toBe(`pulldeploy/${pulldeployVersion}`);
    expect(userAgentOf({ AWS_SDK_UA_APP_ID: 'fleet-7' })).toBe(`pulldeploy/${pulldeployVersion} app/fleet-7`);
  });
});
