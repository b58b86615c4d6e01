// The recording proxy the load balancer tests rely on (test/helpers/recording-proxy.ts), against moto: S3 streams and query APIs.
import { createHash, randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { DescribeAvailabilityZonesCommand, DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../helpers/ports.js';
import { queryApiError, startRecordingProxy, type RecordingProxy } from '../../helpers/recording-proxy.js';
import { region, uniqueName } from './moto-fixtures.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
let proxy: RecordingProxy;
let s3: S3Client;

beforeAll(async () => {
  proxy = await startRecordingProxy({
    target: inject('motoUrl'),
    answer: (request) => (request.action === 'DescribeAvailabilityZones' ? queryApiError('UnauthorizedOperation', 'denied by the proxy') : undefined),
  });
  s3 = new S3Client({ region, endpoint: proxy.url, forcePathStyle: true, credentials });
});
afterAll(async () => {
  s3.destroy();
  await proxy.stop();
});
beforeEach(() => proxy.clear());

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('recording proxy', () => {
  it('passes S3 bodies through intact and records bucket, decoded key, status, conditional headers and bytes', async () => {
    const bucket = uniqueName('proxy');
    const key = 'deploy/my app/releases/v1 ü.tar.gz';
    const body = randomBytes(5 * 1024 * 1024);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));

    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(sha256(await got.Body!.transformToByteArray())).toBe(sha256(body));
    const range = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: 'bytes=0-9' }));
    expect(Buffer.from(await range.Body!.transformToByteArray())).toEqual(body.subarray(0, 10));
    const unchanged = await s3
      .send(new GetObjectCommand({ Bucket: bucket, Key: key, IfNoneMatch: put.ETag }))
      .catch((error: unknown) => error);
    expect((unchanged as S3ServiceException).$metadata.httpStatusCode).toBe(304);
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, IfMatch: put.ETag }));

    expect(proxy.requests.map(({ method, service, bucket: b, key: k, status, requestHeaders, responseBytes }) => ({
      method,
      service,
      bucket: b,
      key: k,
      status,
      requestHeaders,
      responseBytes,
    }))).toEqual([
      { method: 'PUT', service: 's3', bucket, key: undefined, status: 200, requestHeaders: {}, responseBytes: expect.any(Number) },
      { method: 'PUT', service: 's3', bucket, key, status: 200, requestHeaders: {}, responseBytes: 0 },
      { method: 'GET', service: 's3', bucket, key, status: 200, requestHeaders: {}, responseBytes: body.length },
      { method: 'GET', service: 's3', bucket, key, status: 206, requestHeaders: { range: 'bytes=0-9' }, responseBytes: 10 },
      { method: 'GET', service: 's3', bucket, key, status: 304, requestHeaders: { 'if-none-match': put.ETag }, responseBytes: 0 },
      { method: 'HEAD', service: 's3', bucket, key, status: 200, requestHeaders: { 'if-match': put.ETag }, responseBytes: 0 },
    ]);
    expect(proxy.requests.every((request) => request.action === undefined && !request.answered)).toBe(true);
  });

  it('records the Action and parameters of query APIs, and answers what its answer function answers', async () => {
    const ec2 = new EC2Client({ region, endpoint: proxy.url, credentials, maxAttempts: 1 });
    try {
      const regions = await ec2.send(new DescribeRegionsCommand({ RegionNames: ['us-east-1'] }));
      expect(regions.Regions?.map((r) => r.RegionName)).toEqual(['us-east-1']);
      await expect(ec2.send(new DescribeAvailabilityZonesCommand({}))).rejects.toThrow('denied by the proxy');
    } finally {
      ec2.destroy();
    }

    expect(proxy.requests.map(({ service, action, status, answered, bucket }) => ({ service, action, status, answered, bucket }))).toEqual([
      { service: 'ec2', action: 'DescribeRegions', status: 200, answered: false, bucket: undefined },
      { service: 'ec2', action: 'DescribeAvailabilityZones', status: 400, answered: true, bucket: undefined },
    ]);
    expect(proxy.requests[0]?.params).toMatchObject({ Action: 'DescribeRegions', 'RegionName.1': 'us-east-1' });
  });

  it('clears its records in place', async () => {
    const records = proxy.requests;
    await fetch(`${proxy.url}/moto-api/`);
    expect(records).toHaveLength(1);
    proxy.clear();
    expect(records).toHaveLength(0);
    expect(proxy.requests).toBe(records);
  });

  it('answers 502, and records it, when the target does not answer', async () => {
    const unreachable = await startRecordingProxy({ target: `http://127.0.0.1:${await freePort()}` });
    try {
      const response = await fetch(`${unreachable.url}/bucket/key`);
      expect(response.status).toBe(502);
      expect(await response.text()).toMatch(/^recording proxy: http:\/\/127\.0\.0\.1:\d+ failed: connect ECONNREFUSED/);
      expect(unreachable.requests.map((request) => [request.path, request.status])).toEqual([['/bucket/key', 502]]);
    } finally {
      await unreachable.stop();
    }
  });
});
