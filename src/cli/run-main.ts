// Finds the command, runs it, and turns every error into a message and an exit code (DESIGN.md §8).
import { ExitCode, explainHostError, isPulldeployError } from '../errors.js';
import { describeVersion, pulldeployVersion } from '../version.js';
import { commands } from './commands.js';
import type { CliIo } from './io.js';
import { commonOptionsHelp } from './options.js';

export async function runMain(argv: string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  routeProcessWarnings(json, io);
  const [first, ...rest] = argv;
  if (first === '--version' || first === 'version') {
    io.stdout.write(`${describeVersion()}\n`);
    return ExitCode.ok;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    io.stdout.write(mainHelp());
    return ExitCode.ok;
  }
  // `pulldeploy myapp testing -v` is a deploy: anything that is not a command name means deploy.
  const [name, args] = first !== undefined && first in commands ? [first, rest] : ['deploy', argv];
  const entry = commands[name];
  if (entry === undefined) throw new Error(`command table lacks ${name}`);
  try {
    const command = await entry.load();
    return await command.run(args, io);
  } catch (error) {
    return reportError(error, json, io);
  }
}

/** Node's and libraries' process warnings go out in the log's own format, so `--json` output stays parseable. */
function routeProcessWarnings(json: boolean, io: CliIo): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    const message = warning.name === 'Warning' ? warning.message : `${warning.name}: ${warning.message}`;
    io.stderr.write(
      json ? JSON.stringify({ time: new Date().toISOString(), level: 'warn', msg: message }) + '\n' : `warning: ${message}\n`,
    );
  });
}

function reportError(thrown: unknown, json: boolean, io: CliIo): number {
  const error = explainHostError(thrown) ?? thrown;
  if (isPulldeployError(error)) {
    io.stderr.write(
      json
        ? JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: error.message, code: error.code, exit_code: error.exitCode }) + '\n'
        : `error: ${error.message}\n`,
    );
    return error.exitCode;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.stderr.write(`internal error (a bug in pulldeploy ${pulldeployVersion}; please report it):\n${detail}\n`);
  return ExitCode.stepFailed;
}

function mainHelp(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const list = Object.entries(commands)
    .map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`)
    .join('\n');
  return `pulldeploy ${pulldeployVersion}: masterless, pull-based deploys for EC2 fleets

Usage:
  pulldeploy [deploy] [SERVICE INSTANCE] [options]
  pulldeploy COMMAND [options]

Commands:
${list}

Run "pulldeploy COMMAND --help" for a command's options.

${commonOptionsHelp}

Exit codes: 0 deployed or nothing to do, 1 a deploy step failed, 2 usage or configuration error,
3 identity unknown, 4 artifact error, 5 busy (another run holds the lock), 6 AWS or network error,
7 conflict (publisher side: the pointer moved since it was read, or the version exists with other bytes).
`;
}
