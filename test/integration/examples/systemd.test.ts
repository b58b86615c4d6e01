// examples/systemd: systemd's own verifier accepts every unit; the first-boot unit's ordering, run-once and hardening are as documented.
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeScratch } from '../../helpers/run-script.js';

const examples = join(import.meta.dirname, '..', '..', '..', 'examples', 'systemd');
const unitFile = join(examples, 'pulldeploy-firstboot.service');

type Unit = Record<string, Record<string, string[]>>;

/** section → key → every value given (systemd allows a key more than once). */
function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section: Record<string, string[]> | undefined;
  for (const line of text.split('\n').map((raw) => raw.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = unit[header[1]!] = {};
      continue;
    }
    const [key, ...value] = line.split('=');
    if (section === undefined || key === undefined) throw new Error(`unit line outside a section: ${line}`);
    (section[key] ??= []).push(value.join('='));
  }
  return unit;
}

function runVerifier(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('systemd-analyze', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await makeScratch('systemd-unit-'));
});
afterEach(async () => {
  await cleanup();
});

describe('examples/systemd', () => {
  it('every unit passes systemd-analyze verify without a warning', async () => {
    // verify also checks that ExecStart exists: point it at a stand-in, as the binary is not installed here.
    const binary = join(dir, 'pulldeploy');
    await writeFile(binary, '#!/bin/sh\n', { mode: 0o755 });
    const units = (await readdir(examples)).filter((name) => /\.(service|timer)$/.test(name));
    expect(units).toContain('pulldeploy-firstboot.service');
    const copies = [];
    for (const name of units) {
      const text = await readFile(join(examples, name), 'utf8');
      await writeFile(join(dir, name), text.replaceAll('/usr/local/bin/pulldeploy', binary));
      copies.push(join(dir, name));
    }
    const result = await runVerifier(['verify', '--man=no', ...copies]);
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });
});

describe('examples/systemd/pulldeploy-firstboot.service', () => {
  it('the verifier would report a mistake (so its silence means something)', async () => {
    const copy = join(dir, 'broken.service');
    await writeFile(copy, (await readFile(unitFile, 'utf8')).replace('[Service]', '[Service]\nRestartSecs=30s'));
    const result = await runVerifier(['verify', '--man=no', copy]);
    expect(result.output).toContain("Unknown key 'RestartSecs'");
  });

  it('runs once, after the network is online, the binary the cloud-init examples install', async () => {
    const unit = parseUnit(await readFile(unitFile, 'utf8'));
    expect(unit.Unit?.Wants).toEqual(['network-online.target']);
    expect(unit.Unit?.After?.join(' ').split(' ')).toContain('network-online.target');
    expect(unit.Service?.Type).toEqual(['oneshot']);
    expect(unit.Service?.ExecStart).toEqual(['/usr/local/bin/pulldeploy -v']);
    // Marked done only when the deploy succeeded (ExecStartPost runs after a successful ExecStart), and skipped from then on.
    expect(unit.Unit?.ConditionPathExists).toEqual(['!/var/lib/pulldeploy/first-boot-done']);
    expect(unit.Service?.ExecStartPost).toEqual(['/usr/bin/touch /var/lib/pulldeploy/first-boot-done']);
    expect(unit.Service?.StateDirectory).toEqual(['pulldeploy']);
    expect(unit.Install?.WantedBy).toEqual(['multi-user.target']);
    const cloudInit = await readFile(join(unitFile, '..', '..', 'cloud-init', 'user-data.sh'), 'utf8');
    expect(cloudInit).toContain('install -m 0755 "$download" /usr/local/bin/pulldeploy');
  });

  it('retries failures that may pass, but not configuration (2) or artifact (4) errors, and bounds the run', async () => {
    const service = parseUnit(await readFile(unitFile, 'utf8')).Service!;
    expect(service.Restart).toEqual(['on-failure']);
    expect(service.RestartPreventExitStatus).toEqual(['2 4']);
    expect(service.TimeoutStartSec).toEqual(['1h']);
  });

  it('is hardened only where a root deploy running salt and hooks still works', async () => {
    const service = parseUnit(await readFile(unitFile, 'utf8')).Service!;
    for (const key of ['LockPersonality', 'RestrictRealtime']) expect(service[key]).toEqual(['yes']);
    expect(service.SystemCallArchitectures).toEqual(['native']);
    expect(service.UMask).toEqual(['0022']);
    expect(service.Environment).toEqual(['NODE_OPTIONS=', 'MALLOC_ARENA_MAX=2']);
    // These would break what a deploy legitimately does (install packages, write /etc, setuid tools, Node's JIT).
    for (const key of ['ProtectSystem', 'PrivateTmp', 'PrivateDevices', 'NoNewPrivileges', 'MemoryDenyWriteExecute', 'ProtectHostname', 'User']) {
      expect(service[key]).toBeUndefined();
    }
  });
});
