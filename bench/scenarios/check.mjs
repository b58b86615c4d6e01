// Issue 5, items 3 and 4: `pulldeploy check` when nothing moved, and `pulldeploy --version`, each against the embedded Node's empty start, alternated.
import { binary, checkArgs, embeddedNode, snapshotTree } from '../lib/agent.mjs';
import { alternate, expectSuccess, measure, ratios, summarize } from '../lib/measure.mjs';
import { figureRow } from '../lib/report.mjs';
import { describeRequests } from '../lib/counting-proxy.mjs';

const maxCheckRatio = 3.0;
const maxStartupRatio = 1.2;
/** Short commands vary more: more rounds for the same confidence, and they cost little. */
const shortRounds = (runs) => Math.max(20, runs * 4);

async function emptyStart() {
  return expectSuccess('node -e 0', await measure(embeddedNode, ['-e', '0'])).ms;
}

/**
 * @param {object} bench
 * @param {import('../lib/world.mjs').World} bench.world
 * @param {Awaited<ReturnType<typeof import('../lib/counting-proxy.mjs').startCountingProxy>>} bench.proxy
 * @param {string} bench.root a root the small release was deployed into through the proxy
 */
export async function benchCheck({ world, proxy, root, runs, log }) {
  const env = world.agentEnv(proxy.url);
  const requestCounts = [];
  const patterns = new Set();
  const rounds = shortRounds(runs);
  const before = await snapshotTree(root);

  const timed = await alternate(rounds, {
    check: async () => {
      proxy.clear();
      const result = expectSuccess('pulldeploy check', await measure(binary, checkArgs(root), { env }));
      requestCounts.push(proxy.records.length);
      patterns.add(describeRequests(proxy.records));
      return result.ms;
    },
    node: emptyStart,
  });
  // Bytes written are measured apart, under GNU time: the timed runs above carry no wrapper.
  const written = [];
  for (let i = 0; i < runs; i++) {
    const result = expectSuccess('pulldeploy check', await measure(binary, checkArgs(root), { env, rusage: true }));
    written.push(result.writtenBytes);
  }
  const unchanged = (await snapshotTree(root)) === before;
  log(`  check: median ${summarize(timed.check).median.toFixed(1)} ms against node -e 0 ${summarize(timed.node).median.toFixed(1)} ms`);

  const requests = summarize(requestCounts);
  return {
    id: 'check',
    title: '3. Check when nothing moved: the built binary against its embedded Node\'s empty start',
    rows: [
      figureRow('embedded node -e 0', timed.node, 'ms'),
      figureRow('pulldeploy check --jitter 0', timed.check, 'ms'),
      figureRow('check ÷ node -e 0', ratios(timed.check, timed.node), 'x', `≤ ${maxCheckRatio.toFixed(1)}×`, (median) => median <= maxCheckRatio),
      {
        label: 'HTTP requests per check',
        value: requests.min === requests.max ? requests.min : `${requests.min}–${requests.max}`,
        target: 'exactly 2',
        met: requests.min === 2 && requests.max === 2,
      },
      {
        label: 'bytes written per check (page cache dirtied)',
        value: Math.max(...written),
        target: '0, root unchanged',
        met: Math.max(...written) === 0 && unchanged,
      },
    ],
    notes: [`requests of a check: ${[...patterns].join(' | ')}`, `root tree (paths, sizes, mtimes, ctimes) ${unchanged ? 'unchanged' : 'CHANGED'} after ${rounds + runs} checks`],
    raw: { check_ms: timed.check, node_ms: timed.node, requests: requestCounts, written_bytes: written, root_unchanged: unchanged },
  };
}

export async function benchStartup({ runs, log }) {
  const rounds = shortRounds(runs);
  const timed = await alternate(rounds, {
    version: async () => expectSuccess('pulldeploy --version', await measure(binary, ['--version'])).ms,
    node: emptyStart,
  });
  log(`  start-up: median ${summarize(timed.version).median.toFixed(1)} ms against node -e 0 ${summarize(timed.node).median.toFixed(1)} ms`);
  return {
    id: 'startup',
    title: '4. Start-up: pulldeploy --version against the embedded Node\'s empty start',
    rows: [
      figureRow('embedded node -e 0', timed.node, 'ms'),
      figureRow('pulldeploy --version', timed.version, 'ms'),
      figureRow('--version ÷ node -e 0', ratios(timed.version, timed.node), 'x', `≤ ${maxStartupRatio.toFixed(1)}×`, (median) => median <= maxStartupRatio),
    ],
    raw: { version_ms: timed.version, node_ms: timed.node },
  };
}
