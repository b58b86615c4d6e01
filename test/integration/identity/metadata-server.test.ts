// The fake metadata service itself behaves like IMDSv2, so the client tests against it mean something.
import { afterEach, describe, expect, it } from 'vitest';
import { startMetadataServer } from '../../../scripts/servers/metadata-server.mjs';

const servers: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function start(options: Parameters<typeof startMetadataServer>[0]) {
  const server = await startMetadataServer(options);
  servers.push(server);
  return server;
}

async function getToken(url: string): Promise<string> {
  const response = await fetch(`${url}/latest/api/token`, {
    method: 'PUT',
    headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' },
  });
  expect(response.status).toBe(200);
  return response.text();
}

describe('metadata server', () => {
  it('refuses a GET without a token with 401', async () => {
    const server = await start({ instanceId: 'i-0abc898900', region: 'us-east-1' });
    const response = await fetch(`${server.url}/latest/meta-data/instance-id`);
    expect(response.status).toBe(401);
    expect(server.requests).toEqual([{ method: 'GET', path: '/latest/meta-data/instance-id', hadToken: false }]);
  });

  it('refuses a GET with a token it did not issue', async () => {
    const server = await start({ instanceId: 'i-0abc898900', region: 'us-east-1', requireToken: false });
    const response = await fetch(`${server.url}/latest/meta-data/instance-id`, {
      headers: { 'X-aws-ec2-metadata-token': 'forged' },
    });
    expect(response.status).toBe(401);
  });

  it('refuses a token request without the TTL header, or by GET', async () => {
    const server = await start({ instanceId: 'i-0abc898900', region: 'us-east-1' });
    expect((await fetch(`${server.url}/latest/api/token`, { method: 'PUT' })).status).toBe(400);
    expect((await fetch(`${server.url}/latest/api/token`)).status).toBe(405);
  });

  it('serves identity paths with a token and 404 for unknown ones', async () => {
    const server = await start({ instanceId: 'i-0abc898900', region: 'eu-west-2', asgName: 'myapp-testing-euwest2' });
    const token = await getToken(server.url);
    const read = async (path: string) => {
      const response = await fetch(`${server.url}${path}`, { headers: { 'X-aws-ec2-metadata-token': token } });
      return [response.status, await response.text()];
    };
    expect(await read('/latest/meta-data/instance-id')).toEqual([200, 'i-0abc898900']);
    expect(await read('/latest/meta-data/placement/region')).toEqual([200, 'eu-west-2']);
    expect(await read('/latest/meta-data/placement/availability-zone')).toEqual([200, 'eu-west-2a']);
    expect(await read('/latest/meta-data/tags/instance/aws:autoscaling:groupName')).toEqual([200, 'myapp-testing-euwest2']);
    expect((await read('/latest/meta-data/ami-id'))[0]).toBe(404);
    expect(server.requests.slice(1).every((request) => request.hadToken)).toBe(true);
  });

  it('answers 404 for the tag when tags are disabled, and follows setAsgName', async () => {
    const server = await start({ instanceId: 'i-0abc898900', region: 'us-east-1', requireToken: false });
    const tagUrl = `${server.url}/latest/meta-data/tags/instance/aws:autoscaling:groupName`;
    expect((await fetch(tagUrl)).status).toBe(404);
    server.setAsgName('myapp-testing-useast1');
    expect(await (await fetch(tagUrl)).text()).toBe('myapp-testing-useast1');
  });
});
