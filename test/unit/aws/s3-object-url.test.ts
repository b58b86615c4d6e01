// How a light pointer read addresses S3: path-style on custom endpoints, virtual-host on AWS, the SDK for the rest.
import { describe, expect, it } from 'vitest';
import { encodeKey, s3ObjectUrls } from '../../../src/aws/s3-object-url.js';

const key = 'deploy/myapp/testing/current';

function urlOf(bucket: string, region: string, env: NodeJS.ProcessEnv, of = key): string | undefined {
  return s3ObjectUrls(bucket, region, env)?.(of).href;
}

describe('S3 object URLs', () => {
  it('addresses a bucket on AWS by virtual host', () => {
    expect(urlOf('fleet', 'eu-west-1', {})).toBe(`https://fleet.s3.eu-west-1.amazonaws.com/${key}`);
    expect(urlOf('fleet', 'us-gov-west-1', {})).toBe(`https://fleet.s3.us-gov-west-1.amazonaws.com/${key}`);
    expect(urlOf('fleet', 'cn-north-1', {})).toBe(`https://fleet.s3.cn-north-1.amazonaws.com.cn/${key}`);
  });

  it('addresses a bucket with dots path-style, which the TLS wildcard would not cover', () => {
    expect(urlOf('fleet.example.com', 'us-east-1', {})).toBe(`https://s3.us-east-1.amazonaws.com/fleet.example.com/${key}`);
  });

  it('addresses a custom endpoint path-style, AWS_ENDPOINT_URL_S3 before AWS_ENDPOINT_URL', () => {
    expect(urlOf('fleet', 'us-east-1', { AWS_ENDPOINT_URL: 'http://127.0.0.1:5000/' })).toBe(`http://127.0.0.1:5000/fleet/${key}`);
    expect(urlOf('fleet', 'us-east-1', { AWS_ENDPOINT_URL: 'http://a:1', AWS_ENDPOINT_URL_S3: 'https://minio.internal' })).toBe(
      `https://minio.internal/fleet/${key}`,
    );
  });

  it('leaves FIPS, dual-stack and isolated partitions to the SDK', () => {
    expect(s3ObjectUrls('fleet', 'us-east-1', { AWS_USE_FIPS_ENDPOINT: 'true' })).toBeUndefined();
    expect(s3ObjectUrls('fleet', 'us-east-1', { AWS_USE_DUALSTACK_ENDPOINT: 'TRUE' })).toBeUndefined();
    expect(s3ObjectUrls('fleet', 'us-iso-east-1', {})).toBeUndefined();
  });

  it('escapes each key segment as SigV4 and S3 expect', () => {
    expect(encodeKey("deploy/my app+1/it's (v2)*/current")).toBe('deploy/my%20app%2B1/it%27s%20%28v2%29%2A/current');
  });
});
