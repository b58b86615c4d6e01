// A fake EC2 instance metadata service (IMDSv2) on loopback, for tests and the local demo.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

/**
 * @typedef {object} MetadataServerOptions
 * @property {string} instanceId e.g. i-0abc898900
 * @property {string} region e.g. us-east-1
 * @property {string | undefined} [asgName] the aws:autoscaling:groupName tag; undefined = metadata tags not enabled (404)
 * @property {boolean} [requireToken] IMDSv2 only (default true); false also answers token-less IMDSv1 GETs
 * @property {InstanceProfile} [instanceProfile] the IAM role attached to the instance and its keys; undefined = none (404)
 */

/**
 * @typedef {object} InstanceProfile
 * @property {string} role
 * @property {string} accessKeyId
 * @property {string} secretAccessKey
 * @property {string} token
 */

/**
 * @typedef {object} MetadataRequest
 * @property {string} method
 * @property {string} path
 * @property {boolean} hadToken whether the request carried an X-aws-ec2-metadata-token header
 */

/**
 * @typedef {object} RunningMetadataServer
 * @property {string} url base URL, e.g. http://127.0.0.1:40123, for AWS_EC2_METADATA_SERVICE_ENDPOINT
 * @property {MetadataRequest[]} requests every request received, in order
 * @property {(name: string | undefined) => void} setAsgName change the tag; undefined disables metadata tags
 * @property {() => Promise<void>} stop
 */

const tokenPath = '/latest/api/token';
const tagPath = '/latest/meta-data/tags/instance/aws:autoscaling:groupName';
const credentialsPath = '/latest/meta-data/iam/security-credentials/';

/**
 * @param {MetadataServerOptions} options
 * @returns {Promise<RunningMetadataServer>}
 */
export async function startMetadataServer(options) {
  const requireToken = options.requireToken ?? true;
  let asgName = options.asgName;
  /** @type {Set<string>} */
  const tokens = new Set();
  /** @type {MetadataRequest[]} */
  const requests = [];

  /** @returns {string | undefined} */
  const answerFor = (/** @type {string} */ path) => {
    if (path === '/latest/meta-data/instance-id') return options.instanceId;
    if (path === '/latest/meta-data/placement/region') return options.region;
    if (path === '/latest/meta-data/placement/availability-zone') return `${options.region}a`;
    if (path === tagPath) return asgName;
    const profile = options.instanceProfile;
    if (profile !== undefined && path === credentialsPath) return profile.role;
    if (profile !== undefined && path === credentialsPath + profile.role) {
      const expiration = new Date(Date.now() + 6 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
      return JSON.stringify({
        Code: 'Success',
        LastUpdated: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        Type: 'AWS-HMAC',
        AccessKeyId: profile.accessKeyId,
        SecretAccessKey: profile.secretAccessKey,
        Token: profile.token,
        Expiration: expiration,
      });
    }
    return undefined;
  };

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://metadata').pathname;
    const token = request.headers['x-aws-ec2-metadata-token'];
    requests.push({ method: request.method ?? '', path, hadToken: token !== undefined });
    /** @param {number} status @param {string} body */
    const reply = (status, body) => {
      response.writeHead(status, { 'content-type': 'text/plain' });
      response.end(body);
    };

    if (path === tokenPath) {
      if (request.method !== 'PUT') return reply(405, 'Method Not Allowed');
      const ttl = Number(request.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return reply(400, 'Missing or Invalid Parameters');
      const issued = randomBytes(32).toString('base64url');
      tokens.add(issued);
      return reply(200, issued);
    }
    if (request.method !== 'GET') return reply(405, 'Method Not Allowed');
    // Like the real service: a token, when sent, must be valid even where IMDSv1 is allowed.
    const tokenValid = typeof token === 'string' && tokens.has(token);
    if (token !== undefined ? !tokenValid : requireToken) return reply(401, 'Unauthorized');
    const answer = answerFor(path);
    if (answer === undefined) return reply(404, 'Not Found');
    return reply(200, answer);
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(undefined));
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('metadata server has no TCP address');

  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    setAsgName: (name) => {
      asgName = name;
    },
    stop: () =>
      new Promise((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive connections from fetch would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}
