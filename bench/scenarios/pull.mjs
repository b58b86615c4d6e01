// Issue 5, item 1: a whole first deploy of the big release against `curl | tar xzf -` from the same server, alternated, plus the pipeline alternatives.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { binary, deployArgs, repo, stepDurations } from '../lib/agent.mjs';
import { alternateInGroups, expectSuccess, measure, summarize } from '../lib/measure.mjs';
import { figureRow } from '../lib/report.mjs';
import { bucket } from '../lib/world.mjs';

/** The alternatives measured beside the agent by default; `--alternatives all` runs every one in bench/pipelines/variants.mjs. */
export const defaultAlternatives = ['gunzip', 'agent-extract', 'agent-extract-syncfs', 'gate-tar-syncfs'];
/** Sides run between two baseline runs: each side is compared with a baseline run next to it. */
const sidesPerGroup = 2;

/** Writes back what the previous run left dirty, so no run pays for another's writeback. Not timed. */
async function settleDisk() {
  const child = spawn('sync', [], { stdio: 'ignore' });
  await once(child, 'close');
}

/**
 * @param {object} bench
 * @param {import('../lib/world.mjs').World} bench.world
 * @param {{ version: string, sha256: string, size: number, contentBytes: number, files: number }} bench.release the big release, published as myapp
 * @param {string} bench.work
 * @param {number} bench.runs
 * @param {string[]} bench.alternatives ids of bench/pipelines/variants.mjs to measure beside the agent
 * @param {(line: string) => void} bench.log
 */
export async function benchPull({ world, release, work, runs, alternatives, log }) {
  const { variants } = await import('../pipelines/variants.mjs');
  await world.promote('myapp', release.version, release.sha256);
  const key = `deploy/myapp/releases/${release.version}.tar.gz`;
  const url = world.objectUrl(key);
  const agentEnv = world.agentEnv(world.s3Url);
  let counter = 0;
  const freshDir = async (kind) => {
    const dir = join(work, `pull-${kind.replace(/[^a-z0-9]+/gi, '-')}-${counter++}`);
    await mkdir(dir);
    return dir;
  };
  const fetchMs = [];
  const rss = { curl: [], agent: [] };

  /** One run of one side: a fresh empty directory, the command under GNU time, the directory removed afterwards. */
  const side = (name, makeCommand, after = async () => undefined) => async () => {
    await settleDisk();
    const dir = await freshDir(name);
    try {
      const [program, args, env] = makeCommand(dir);
      const result = expectSuccess(name, await measure(program, args, { env, rusage: true }));
      await after(dir, result);
      return result.ms;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  const sides = {
    curl: side(
      'curl | tar xzf -',
      (dir) => ['sh', ['-c', `curl -sf '${url}' | tar xzf - -C '${dir}'`], process.env],
      async (_dir, result) => void rss.curl.push(result.rssKb / 1024),
    ),
    agent: side(
      'pulldeploy',
      (dir) => [binary, deployArgs(dir), agentEnv],
      async (dir, result) => {
        fetchMs.push((await stepDurations(dir)).fetch);
        rss.agent.push(result.rssKb / 1024);
      },
    ),
  };
  for (const name of alternatives) {
    sides[name] = side(name, (dir) => [
      process.execPath,
      [join(repo, 'bench', 'pipelines', 'run-pipeline.mjs'), name, bucket, key, release.version, join(dir, 'release'), release.sha256],
      agentEnv,
    ]);
  }

  // The agent pairs with a baseline run of its own; the alternatives share one, a few at a time.
  const groups = [['agent']];
  for (let i = 0; i < alternatives.length; i += sidesPerGroup) groups.push(alternatives.slice(i, i + sidesPerGroup));
  const { figures, ratios } = await alternateInGroups(runs, 'curl', groups, sides, (round, ms) => {
    const line = Object.entries(ms).map(([name, value]) => `${name} ${(value / 1000).toFixed(2)} s`);
    log(`  pull round ${round + 1}/${runs}: ${line.join('; ')}`);
  });

  const mb = (bytes) => (bytes / 1e6).toFixed(0);
  const rows = [
    figureRow('curl -s URL | tar xzf - (baseline)', figures.curl, 's'),
    figureRow('pulldeploy myapp testing (whole process)', figures.agent, 's'),
    figureRow('  of which the fetch step', fetchMs, 's'),
    figureRow('pulldeploy ÷ baseline', ratios.agent, 'x', '≤ 1.00×', (median) => median <= 1.0),
  ];
  for (const id of alternatives) rows.push(figureRow(`  alternative ÷ baseline: ${variants[id].label} [${id}]`, ratios[id], 'x'));
  return {
    id: 'pull',
    title: `1. Pull: ${mb(release.size)} MB release (${release.files} files, ${mb(release.contentBytes)} MB extracted) into an empty root`,
    rows,
    notes: [
      'all fetch from the same moto_server directly (no proxy); the disk is synced, untimed, before every run',
      'each ratio divides by a baseline run made right before or after it (bench/pipelines/variants.mjs describes the alternatives)',
      'the agent also takes the lock, identifies the instance, reads both pointers, fetches the base release, fsyncs, stages and records',
      `peak RSS: pulldeploy ${summarize(rss.agent).median.toFixed(0)} MB, curl | tar ${summarize(rss.curl).median.toFixed(0)} MB`,
    ],
    raw: { figures_ms: figures, ratios, fetch_step_ms: fetchMs, peak_rss_mb: rss },
  };
}
