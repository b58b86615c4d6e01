// hooks/wait-for-http against a real HTTP server on 127.0.0.1: healthy after a while, never healthy, no server, bad settings.
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../helpers/ports.js';
import { makeFakeBin, makeScratch, runScript } from '../../helpers/run-script.js';

const hook = join(import.meta.dirname, '..', '..', '..', 'hooks', 'wait-for-http');
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', WAIT_FOR_HTTP_INTERVAL: '0.1' };

interface Answer {
  status: number;
  body?: string;
  /** Never answer this request (the client's request timeout must end it). */
  hang?: boolean;
}

const servers: Server[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A server answering its nth request with answers[n], and the last answer from then on. */
async function startServer(answers: Answer[]): Promise<{ url: string; requests: () => number }> {
  let count = 0;
  const server = createServer((_request, response) => {
    const answer = answers[Math.min(count, answers.length - 1)]!;
    count += 1;
    if (answer.hang) return;
    response.writeHead(answer.status, { 'content-type': 'text/plain' });
    response.end(answer.body ?? '');
  });
  servers.push(server);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return { url: `http://127.0.0.1:${address.port}/health`, requests: () => count };
}

describe('wait-for-http', () => {
  it('polls until the URL answers 2xx, then exits 0', async () => {
    const server = await startServer([{ status: 503 }, { status: 503 }, { status: 200, body: 'ok' }]);
    const result = await runScript(hook, [], { ...env, WAIT_FOR_HTTP_URL: server.url });
    expect(result.stdout).toContain(`${server.url} is healthy (HTTP 200, attempt 3)`);
    expect(result.exitCode).toBe(0);
    expect(server.requests()).toBe(3);
  });

  it('takes the URL as its argument, over WAIT_FOR_HTTP_URL', async () => {
    const server = await startServer([{ status: 204 }]);
    const result = await runScript(hook, [server.url], { ...env, WAIT_FOR_HTTP_URL: 'http://127.0.0.1:9/elsewhere' });
    expect(result.exitCode).toBe(0);
    expect(server.requests()).toBe(1);
  });

  it('waits for the body text too when WAIT_FOR_HTTP_BODY is set', async () => {
    const server = await startServer([
      { status: 200, body: '{"status":"starting"}' },
      { status: 200, body: '{"status":"ok"}' },
    ]);
    const result = await runScript(hook, [], { ...env, WAIT_FOR_HTTP_URL: server.url, WAIT_FOR_HTTP_BODY: '"status":"ok"' });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('attempt 2');
  });

  it('counts only the statuses listed in WAIT_FOR_HTTP_STATUS as healthy', async () => {
    const server = await startServer([{ status: 200 }, { status: 204 }]);
    const result = await runScript(hook, [], { ...env, WAIT_FOR_HTTP_URL: server.url, WAIT_FOR_HTTP_STATUS: '204 205' });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('HTTP 204, attempt 2');
  });

  it('gives up after the timeout with exit 1, naming the last answer', async () => {
    const server = await startServer([{ status: 503 }]);
    const result = await runScript(hook, [], { ...env, WAIT_FOR_HTTP_URL: server.url, WAIT_FOR_HTTP_TIMEOUT: '1' });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`${server.url} not healthy after 1s \\(\\d+ attempts\\); last: HTTP 503`));
    expect(server.requests()).toBeGreaterThan(2);
    expect(result.durationMs).toBeLessThan(5_000);
  });

  it('gives up on a server that does not answer, each request bounded by WAIT_FOR_HTTP_REQUEST_TIMEOUT', async () => {
    const server = await startServer([{ status: 200, hang: true }]);
    const result = await runScript(hook, [], {
      ...env,
      WAIT_FOR_HTTP_URL: server.url,
      WAIT_FOR_HTTP_TIMEOUT: '1',
      WAIT_FOR_HTTP_REQUEST_TIMEOUT: '0.3',
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/last: no answer \(curl: \(28\)/);
    expect(result.durationMs).toBeLessThan(5_000);
  });

  it('keeps trying while nothing listens, then exits 1 saying the connection failed', async () => {
    const url = `http://127.0.0.1:${await freePort()}/health`;
    const result = await runScript(hook, [], { ...env, WAIT_FOR_HTTP_URL: url, WAIT_FOR_HTTP_TIMEOUT: '1' });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/last: no answer \(curl: \(7\)/);
  });
});

describe('wait-for-http usage errors (exit 2)', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['no URL', {}, 'no URL: give it as the argument or set WAIT_FOR_HTTP_URL'],
    ['a URL of another scheme', { WAIT_FOR_HTTP_URL: 'ftp://example.com/' }, 'must start with http:// or https:// and name a host, got "ftp://example.com/"'],
    ['a URL without a host', { WAIT_FOR_HTTP_URL: 'http://' }, 'must start with http:// or https://'],
    ['a URL curl cannot parse', { WAIT_FOR_HTTP_URL: 'http://[::1/health' }, 'curl cannot use the URL "http://[::1/health"'],
    ['a timeout that is not a whole number', { WAIT_FOR_HTTP_URL: 'http://127.0.0.1:9/', WAIT_FOR_HTTP_TIMEOUT: '10s' }, 'WAIT_FOR_HTTP_TIMEOUT must be a whole number of seconds, got "10s"'],
    ['an interval that is not a number', { WAIT_FOR_HTTP_URL: 'http://127.0.0.1:9/', WAIT_FOR_HTTP_INTERVAL: '1.2.3' }, 'WAIT_FOR_HTTP_INTERVAL must be a number of seconds, got "1.2.3"'],
    ['a status that is not a status code', { WAIT_FOR_HTTP_URL: 'http://127.0.0.1:9/', WAIT_FOR_HTTP_STATUS: '200 ok' }, 'WAIT_FOR_HTTP_STATUS must list 3-digit HTTP status codes, got "ok"'],
  ];
  for (const [name, settings, message] of cases) {
    it(`refuses ${name}`, async () => {
      const result = await runScript(hook, [], { ...env, ...settings });
      expect(result.stderr).toContain(message);
      expect(result.exitCode).toBe(2);
    });
  }

  it('says so when curl is not installed', async () => {
    const scratch = await makeScratch('wait-for-http-');
    cleanups.push(scratch.cleanup);
    const bin = await makeFakeBin(join(scratch.dir, 'bin'), {}, ['date', 'mktemp', 'rm']);
    const result = await runScript(hook, [], { PATH: bin, WAIT_FOR_HTTP_URL: 'http://127.0.0.1:9/' });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('curl is not installed');
  });
});
