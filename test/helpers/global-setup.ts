// Starts one moto_server (S3, EC2, Auto Scaling, ELB on one port) on 127.0.0.1 for the whole run.
import type { TestProject } from 'vitest/node';
import { startMotoServer, type RunningServer } from './moto.js';

declare module 'vitest' {
  export interface ProvidedContext {
    motoUrl: string;
  }
}

let moto: RunningServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  moto = await startMotoServer();
  project.provide('motoUrl', moto.url);
}

export async function teardown(): Promise<void> {
  await moto?.stop();
}
