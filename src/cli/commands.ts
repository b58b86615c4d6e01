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
  grains: {
    summary: "print this instance's derived identity",
    load: async () => (await import('./commands/grains.js')).grainsCommand,
  },
};
