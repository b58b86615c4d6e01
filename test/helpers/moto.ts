// moto_server on a free loopback port: real S3, EC2, Auto Scaling and ELB query APIs over HTTP.
import { spawn } from 'node:child_process';
import { freePort } from './ports.js';

export interface RunningServer {
  url: string;
  stop(): Promise<void>;
}

export async function startMotoServer(): Promise<RunningServer> {
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const spawnFailed = new Promise<never>((_, reject) => {
    child.once('error', (error) =>
      reject(new Error(`cannot start moto_server (${error.message}): install it with "pip install 'moto[server]'"`)),
    );
    child.once('exit', (code) => reject(new Error(`moto_server exited with ${code}:\n${stderr}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  await Promise.race([waitForHttp(`${url}/moto-api/`, 20_000), spawnFailed]);
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
