// Starts moto_server (a real S3-compatible server: conditional GETs answer 304) on a free 127.0.0.1 port, as a child of the bench.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A port the kernel just handed out and took back: free for the server to bind. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** @returns {Promise<{ url: string, pid: number, stop(): Promise<void> }>} */
export async function startMotoServer() {
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const failed = new Promise((_, reject) => {
    child.once('error', (error) => reject(new Error(`cannot start moto_server (${error.message}): pip install 'moto[server]'`)));
    child.once('exit', (code) => reject(new Error(`moto_server exited with ${code}:\n${stderr}`)));
  });
  // Never left behind, whatever way the bench ends.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = `http://127.0.0.1:${port}`;
  await Promise.race([waitForHttp(`${url}/moto-api/`, 30_000), failed]);
  failed.catch(() => undefined);
  return {
    url,
    pid: child.pid,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
