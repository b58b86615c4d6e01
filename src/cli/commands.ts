// Every command, its one-line summary, and how to load it on demand (start-up pays only for the one that runs).
import type { CliIo } from './io.js';

export interface Command {
  run(args: string[], io: CliIo): Promise<number>;
}

export interface CommandEntry {
  summary: string;
  load: () => Promise<Command>;
}

export const commands: Record<string, CommandEntry> = {
  deploy: {
    summary: 'deploy the releases marked current (the default command)',
    load: async () => (await import('./commands/deploy.js')).deployCommand,
  },
  check: {
    summary: 'for timers: deploy only when a pointer moved or the last run failed',
    load: async () => (await import('./commands/check.js')).checkCommand,
  },
  status: {
    summary: 'versions, the last run and its steps, the lock holder',
    load: async () => (await import('./commands/status.js')).statusCommand,
  },
  rollback: {
    summary: 'current back to the previous (or a named) release',
    load: async () => (await import('./commands/rollback.js')).rollbackCommand,
  },
  register: {
    summary: 'register this instance with its load balancers',
    load: async () => (await import('./commands/membership.js')).registerCommand,
  },
  deregister: {
    summary: 'deregister this instance from its load balancers and wait for draining',
    load: async () => (await import('./commands/membership.js')).deregisterCommand,
  },
  prune: {
    summary: 'remove old releases, keeping current, next and previous',
    load: async () => (await import('./commands/prune.js')).pruneCommand,
  },
  'iam-policy': {
    summary: 'print the least-privilege IAM policy for this configuration (--publisher: the CI side)',
    load: async () => (await import('./commands/iam-policy.js')).iamPolicyCommand,
  },
  grains: {
    summary: "print this instance's derived identity",
    load: async () => (await import('./commands/grains.js')).grainsCommand,
  },
  pack: {
    summary: 'CI: pack a release directory into a deterministic .tar.gz and print its sha256',
    load: async () => (await import('./commands/pack.js')).packCommand,
  },
  publish: {
    summary: 'CI: upload a release tarball as a new version (never over an existing one)',
    load: async () => (await import('./commands/publish.js')).publishCommand,
  },
  promote: {
    summary: 'CI: point an environment (or a canary share of it) at a verified release',
    load: async () => (await import('./commands/promote.js')).promoteCommand,
  },
  releases: {
    summary: "CI: list a service's releases and which environment points at which",
    load: async () => (await import('./commands/releases.js')).releasesCommand,
  },
  keygen: {
    summary: 'CI: make an ed25519 key pair for signing releases',
    load: async () => (await import('./commands/keygen.js')).keygenCommand,
  },
};
