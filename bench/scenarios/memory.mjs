// Issue 5, item 2: peak RSS of the whole agent process deploying a small and a large release into empty roots, alternated;
// as the shipped systemd units run it (MALLOC_ARENA_MAX=2), and the large one also with glibc's default arenas.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { binary, deployArgs } from '../lib/agent.mjs';
import { alternate, expectSuccess, measure, summarize } from '../lib/measure.mjs';
import { figureRow } from '../lib/report.mjs';

const maxPeakMb = 150;
const maxSpreadMb = 20;
/** What examples/systemd/*.service set for the agent beside its own options. */
const unitEnvironment = { MALLOC_ARENA_MAX: '2' };

/**
 * @param {object} bench
 * @param {import('../lib/world.mjs').World} bench.world
 * @param {{ version: string, sha256: string, size: number }} bench.small
 * @param {{ version: string, sha256: string, size: number }} bench.large
 */
export async function benchMemory({ world, small, large, work, runs, log }) {
  const unitEnv = world.agentEnv(world.s3Url, unitEnvironment);
  const plainEnv = world.agentEnv(world.s3Url);
  const wall = { small: [], large: [], largePlain: [] };
  let counter = 0;
  const deployOnce = (which, release, env) => async () => {
    await world.promote('myapp', release.version, release.sha256);
    const root = join(work, `memory-${counter++}`);
    await mkdir(root);
    try {
      const result = expectSuccess(`pulldeploy (${which} release)`, await measure(binary, deployArgs(root), { env, rusage: true }));
      wall[which].push(result.ms);
      return result.rssKb / 1024;
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  };
  const sides = {
    small: deployOnce('small', small, unitEnv),
    large: deployOnce('large', large, unitEnv),
    largePlain: deployOnce('largePlain', large, plainEnv),
  };
  const peaks = await alternate(runs, sides, (round, mb) =>
    log(
      `  memory round ${round + 1}/${runs}: small ${mb.small.toFixed(0)} MB, large ${mb.large.toFixed(0)} MB peak RSS; ` +
        `large with glibc's default arenas ${mb.largePlain.toFixed(0)} MB`,
    ),
  );
  const spread = Math.abs(summarize(peaks.large).median - summarize(peaks.small).median);
  const size = (release) => `${(release.size / 1e6).toFixed(0)} MB`;
  return {
    id: 'memory',
    title: '2. Memory: peak RSS of the whole agent process during a first deploy',
    rows: [
      figureRow(`peak RSS, ${size(small)} release`, peaks.small, 'MB', `≤ ${maxPeakMb} MB`, (median) => median <= maxPeakMb),
      figureRow(`peak RSS, ${size(large)} release`, peaks.large, 'MB', `≤ ${maxPeakMb} MB`, (median) => median <= maxPeakMb),
      { label: 'large − small (medians)', value: spread, unit: 'MB', target: `≤ ${maxSpreadMb} MB`, met: spread <= maxSpreadMb },
      figureRow(`peak RSS, ${size(large)} release, glibc's default malloc arenas`, peaks.largePlain, 'MB'),
      figureRow(`wall time, ${size(small)} release`, wall.small, 's'),
      figureRow(`wall time, ${size(large)} release`, wall.large, 's'),
    ],
    notes: [
      'peak RSS is GNU time\'s maximum resident set of the agent process (ru_maxrss)',
      'run as the systemd units run it: MALLOC_ARENA_MAX=2 (glibc otherwise gives each thread its own arena, kept after use)',
    ],
    raw: { peak_rss_mb: peaks, wall_ms: wall },
  };
}
