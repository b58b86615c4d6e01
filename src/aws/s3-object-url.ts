// Where an S3 object lives over HTTP: path-style on a custom endpoint, virtual-host style on AWS.

/** RFC 3986 escaping of one key segment, as SigV4 and S3 expect (`encodeURIComponent` leaves !'()* alone). */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function encodeKey(key: string): string {
  return key.split('/').map(encodeSegment).join('/');
}

/**
 * How to address the bucket's objects, or undefined for an endpoint only the SDK knows how to choose (FIPS,
 * dual-stack, isolated partitions). A custom endpoint (AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL) is addressed
 * path-style, as the SDK settings do; on AWS a bucket with dots takes path style too, since its name would break
 * the TLS wildcard.
 */
export function s3ObjectUrls(bucket: string, region: string, env: NodeJS.ProcessEnv): ((key: string) => URL) | undefined {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  if (endpoint) return pathStyle(endpoint.replace(/\/+$/, ''), bucket);
  if (isTrue(env.AWS_USE_FIPS_ENDPOINT) || isTrue(env.AWS_USE_DUALSTACK_ENDPOINT)) return undefined;
  if (!/^[a-z]{2}(-gov)?-[a-z]+-\d+$/.test(region)) return undefined;
  const domain = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  if (bucket.includes('.')) return pathStyle(`https://s3.${region}.${domain}`, bucket);
  return (key) => new URL(`https://${bucket}.s3.${region}.${domain}/${encodeKey(key)}`);
}

function pathStyle(endpoint: string, bucket: string): (key: string) => URL {
  return (key) => new URL(`${endpoint}/${encodeSegment(bucket)}/${encodeKey(key)}`);
}

function isTrue(value: string | undefined): boolean {
  return value?.toLowerCase() === 'true';
}
