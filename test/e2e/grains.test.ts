// `pulldeploy grains`: the identity from metadata, or from a conventional hostname with no network at all.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { createDeployWorld, type DeployWorld } from '../helpers/deploy-world.js';

let world: DeployWorld;
beforeAll(async () => {
  world = await createDeployWorld({ asgName: 'billing-api-production-euwest1' });
});
afterAll(async () => {
  await world.stop();
});

it('derives every grain from IMDSv2 and the Auto Scaling group tag', async () => {
  const result = await runCli(['grains', '--json'], { ...world.env, PULLDEPLOY_HOSTNAME: 'ip-10-0-0-1', PULLDEPLOY_DOMAIN: 'example.com' });
  expect(result.exitCode).toBe(0);
  const node = world.instanceId.slice(2);
  expect(JSON.parse(result.stdout)).toEqual({
    service_name: 'billing-api',
    service_instance: 'production',
    region: 'euwest1',
    aws_region: 'us-east-1',
    instance_id: world.instanceId,
    service_node: node,
    cluster_name: 'billing-api-production-euwest1',
    service_group: 'billing-api-production',
    hostname: `billing-api-production-euwest1-${node}.example.com`,
  });
});

it('reads a conventional hostname without asking the metadata service', async () => {
  const result = await runCli(['grains'], {
    ...world.env,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9',
    PULLDEPLOY_HOSTNAME: 'myapp-testing-useast1-0abc898900.example.com',
  });
  expect(result.exitCode).toBe(0);
  expect(result.stdout).toMatch(/^service_name\s+myapp$/m);
  expect(result.stdout).toMatch(/^instance_id\s+i-0abc898900$/m);
  expect(result.stdout).toMatch(/^aws_region\s+us-east-1$/m);
  expect(result.stdout).toContain('(from hostname)');
});
