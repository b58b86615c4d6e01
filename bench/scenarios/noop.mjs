// Issue 5, item 5: `pulldeploy deploy` when the release is already current: no download; the agent's own overhead beside a no-op apply and no-op hooks.
import { binary, deployArgs, embeddedNode, stepDurations } from '../lib/agent.mjs';
import { alternate, expectSuccess, measure, summarize } from '../lib/measure.mjs';
import { figureRow } from '../lib/report.mjs';
import { describeRequests } from '../lib/counting-proxy.mjs';

/** Steps that run the release's own code: what a real redeploy's time is made of. */
const releaseSteps = ['pre-release', 'apply', 'post-release'];

/**
 * @param {object} bench
 * @param {string} bench.root a root the small release (one no-op hook per phase) was deployed into
 */
export async function benchNoop({ world, proxy, root, runs, log }) {
  // A real no-op process as the apply command: what the step costs without salt.
  const env = world.agentEnv(proxy.url, { PULLDEPLOY_APPLY_COMMAND: 'true' });
  const releaseCode = [];
  const overhead = [];
  const releaseGets = [];
  const patterns = new Set();
  const rounds = Math.max(10, runs * 2);
  const timed = await alternate(rounds, {
    redeploy: async () => {
      proxy.clear();
      const result = expectSuccess('pulldeploy (redeploy)', await measure(binary, deployArgs(root), { env }));
      const steps = await stepDurations(root);
      const own = releaseSteps.reduce((sum, name) => sum + (steps[name] ?? 0), 0);
      releaseCode.push(own);
      overhead.push(result.ms - own);
      releaseGets.push(proxy.records.filter((record) => record.kind === 'release GET').length);
      patterns.add(describeRequests(proxy.records));
      return result.ms;
    },
    node: async () => expectSuccess('node -e 0', await measure(embeddedNode, ['-e', '0'])).ms,
  });
  log(`  no-op redeploy: median ${summarize(timed.redeploy).median.toFixed(0)} ms`);
  const downloads = Math.max(...releaseGets);
  return {
    id: 'noop',
    title: '5. No-op redeploy: pulldeploy myapp testing when the release is already current (apply.command "true", one no-op hook per phase)',
    rows: [
      figureRow('whole redeploy', timed.redeploy, 'ms'),
      figureRow('  pre-release + apply + post-release steps', releaseCode, 'ms'),
      figureRow('  the agent\'s own overhead (the rest)', overhead, 'ms'),
      figureRow('embedded node -e 0, for scale', timed.node, 'ms'),
      { label: 'release downloads per redeploy', value: downloads, target: '0', met: downloads === 0 },
    ],
    notes: [`requests of a redeploy: ${[...patterns].join(' | ')}`],
    raw: { redeploy_ms: timed.redeploy, release_steps_ms: releaseCode, overhead_ms: overhead, node_ms: timed.node },
  };
}
