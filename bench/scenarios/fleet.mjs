// Issue 5, item 6: a fleet of agents started at once against one S3 server: a fresh deploy each, then a no-change check each.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { binary, checkArgs, deployArgs } from '../lib/agent.mjs';
import { measure, percentile } from '../lib/measure.mjs';
import { figureRow } from '../lib/report.mjs';
import { tally } from '../lib/counting-proxy.mjs';

/** The minimum a run needs (the target): both pointers and both releases; then two conditional pointer reads. */
const expected = {
  deploy: { 'pointer GET': 2, 'release GET': 2 },
  check: { 'conditional pointer GET': 2 },
};

function sameCounts(actual, wanted) {
  const keys = new Set([...Object.keys(actual), ...Object.keys(wanted)]);
  return [...keys].every((key) => (actual[key] ?? 0) === (wanted[key] ?? 0));
}

/** Runs every agent of the fleet at once; resolves with each one's wall time and the requests it made. */
async function runFleet(size, makeCommand, proxy) {
  proxy.clear();
  const results = await Promise.all(
    Array.from({ length: size }, async (_, index) => {
      const [args, env] = makeCommand(index);
      const result = await measure(binary, args, { env });
      return { index, ms: result.ms, code: result.code, stderr: result.stderr };
    }),
  );
  const byAgent = new Map();
  for (const record of proxy.records) {
    const list = byAgent.get(record.app) ?? [];
    list.push(record);
    byAgent.set(record.app, list);
  }
  const served = tally(proxy.records);
  return { results, byAgent, bytes: served.bytes, requests: served.requests };
}

/**
 * @param {object} bench
 * @param {{ size: number }} bench.release the small release, current for myapp
 * @param {number} bench.agents
 */
export async function benchFleet({ world, proxy, release, work, runs, agents, log }) {
  await world.promote('myapp', release.version, release.sha256);
  const phases = { deploy: { p50: [], p95: [], max: [], bytes: [], failures: 0, wrong: [] }, check: { p50: [], p95: [], max: [], bytes: [], failures: 0, wrong: [] } };
  const perAgent = { deploy: new Set(), check: new Set() };

  for (let round = 0; round < runs; round++) {
    const roots = Array.from({ length: agents }, (_, index) => join(work, `fleet-${round}-${index}`));
    await Promise.all(roots.map((root) => mkdir(root)));
    const envFor = (index) =>
      world.agentEnv(proxy.url, {
        // Each agent its own node (no metadata call) and its own tag in the SDK's user agent, so requests are told apart.
        PULLDEPLOY_HOSTNAME: `myapp-testing-useast1-${(0x0abc000000 + index).toString(16).padStart(10, '0')}`,
        AWS_SDK_UA_APP_ID: `bench-agent-${index}`,
      });
    try {
      for (const phase of ['deploy', 'check']) {
        const fleet = await runFleet(agents, (index) => [phase === 'deploy' ? deployArgs(roots[index]) : checkArgs(roots[index]), envFor(index)], proxy);
        const failed = fleet.results.filter((result) => result.code !== 0);
        const stats = phases[phase];
        stats.failures += failed.length;
        if (failed.length > 0) log(`  fleet ${phase}: agent ${failed[0].index} exited ${failed[0].code}: ${failed[0].stderr.trim().split('\n').pop()}`);
        const times = fleet.results.map((result) => result.ms);
        stats.p50.push(percentile(times, 50));
        stats.p95.push(percentile(times, 95));
        stats.max.push(Math.max(...times));
        stats.bytes.push(fleet.bytes);
        for (let index = 0; index < agents; index++) {
          const counted = tally(fleet.byAgent.get(`bench-agent-${index}`) ?? []).byKind;
          perAgent[phase].add(Object.entries(counted).map(([kind, count]) => `${count} × ${kind}`).sort().join(', ') || 'none');
          if (!sameCounts(counted, expected[phase])) stats.wrong.push({ round, index, counted });
        }
        const unattributed = fleet.byAgent.get(undefined)?.length ?? 0;
        if (unattributed > 0) stats.wrong.push({ round, unattributed });
        log(`  fleet round ${round + 1}/${runs} ${phase}: p50 ${stats.p50.at(-1).toFixed(0)} ms, p95 ${stats.p95.at(-1).toFixed(0)} ms, max ${stats.max.at(-1).toFixed(0)} ms, ${fleet.requests} requests, ${(fleet.bytes / 1e6).toFixed(1)} MB served, ${failed.length} failed`);
      }
    } finally {
      await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
    }
  }

  const rows = [];
  for (const phase of ['deploy', 'check']) {
    const stats = phases[phase];
    const label = phase === 'deploy' ? 'fresh deploy' : 'no-change check';
    rows.push(
      { label: `${label}: agents succeeded`, value: `${agents * runs - stats.failures} of ${agents * runs}`, target: 'all', met: stats.failures === 0 },
      figureRow(`${label}: p50 wall time`, stats.p50, 's'),
      figureRow(`${label}: p95 wall time`, stats.p95, 's'),
      figureRow(`${label}: max wall time`, stats.max, 's'),
      figureRow(`${label}: bytes served to the fleet`, stats.bytes.map((bytes) => bytes / 1e6), 'MB'),
      {
        label: `${label}: requests per agent`,
        value: [...perAgent[phase]].join(' | '),
        target: Object.entries(expected[phase]).map(([kind, count]) => `${count} × ${kind}`).join(' + '),
        met: stats.wrong.length === 0,
      },
    );
  }
  return {
    id: 'fleet',
    title: `6. Fleet: ${agents} agents started at once, each with its own root, one S3 server (release ${(release.size / 1e6).toFixed(1)} MB)`,
    rows,
    notes: [`per-round p50/p95/max, summarized over ${runs} rounds; every request passes the counting proxy and is attributed by the app id in its user agent (AWS_SDK_UA_APP_ID, which the SDK and the agent's own signed GETs both send)`],
    raw: { phases, per_agent_requests: Object.fromEntries(Object.entries(perAgent).map(([phase, set]) => [phase, [...set]])) },
  };
}
