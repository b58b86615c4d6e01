// `npm run bench`: the issue 5 benchmark suite. Starts moto_server, generates and publishes its own releases, measures the built binary, prints a table and writes bench/results.json.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { binary, checkPrerequisites, deployArgs, embeddedNode, repo } from './lib/agent.mjs';
import { startCountingProxy } from './lib/counting-proxy.mjs';
import { expectSuccess, loadAverage, measure } from './lib/measure.mjs';
import { generateBaseRelease, generateRelease } from './lib/release-generator.mjs';
import { describeMachine, formatTable } from './lib/report.mjs';
import { startWorld } from './lib/world.mjs';
import { benchCheck, benchStartup } from './scenarios/check.mjs';
import { benchFleet } from './scenarios/fleet.mjs';
import { benchMemory } from './scenarios/memory.mjs';
import { benchNoop } from './scenarios/noop.mjs';
import { benchPull, defaultAlternatives } from './scenarios/pull.mjs';

const mib = 1024 * 1024;
const usage = `usage: npm run bench [-- OPTIONS]

  --quick            smaller releases (pull 64 MiB, memory 64 MiB vs 256 MiB), a fleet of 20, no pipeline alternatives
  --runs N           runs per figure (default 5, at least 5); short commands get 4× as many
  --only LIST        comma-separated: startup,check,noop,fleet,pull,memory
  --agents N         fleet size (default 50, 20 with --quick)
  --alternatives L   pipeline alternatives measured beside the pull: "none", "all", or comma-separated
                     ids from bench/pipelines/variants.mjs (default: gunzip,agent-extract,agent-extract-syncfs,gate-tar-syncfs;
                     none with --quick)
  --out FILE         where the JSON goes (default bench/results.json)

  PULLDEPLOY_BENCH_BIN=FILE measures another build of the binary (default dist/pulldeploy-linux-x64).
`;

const { values: options } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string', default: '5' },
    only: { type: 'string' },
    agents: { type: 'string' },
    alternatives: { type: 'string' },
    out: { type: 'string', default: join(repo, 'bench', 'results.json') },
    help: { type: 'boolean', default: false },
  },
});
if (options.help) {
  process.stdout.write(usage);
  process.exit(0);
}
const runs = Math.max(5, Number(options.runs));
const agents = Number(options.agents ?? (options.quick ? 20 : 50));
const scenarios = new Set((options.only ?? 'startup,check,noop,fleet,pull,memory').split(','));
const sizes = options.quick ? { pull: 64 * mib, small: 64 * mib, large: 256 * mib } : { pull: 256 * mib, small: 64 * mib, large: 1024 * mib };
/** The release of the fleet, the check and the no-op redeploy: a small service with a no-op hook per phase. */
const fleetReleaseBytes = 4 * mib;
const noopHook = { content: '#!/bin/sh\nexit 0\n', mode: 0o755 };

const log = (line) => process.stderr.write(`${line}\n`);
const started = Date.now();
await checkPrerequisites();
// Imported only now: the alternatives use the agent's own modules from dist/js, which the check above looks for.
const { variants } = await import('./pipelines/variants.mjs');
const alternatives = chooseAlternatives(options.alternatives ?? (options.quick ? 'none' : 'default'));
const work = await mkdtemp(join(tmpdir(), 'pulldeploy-bench-'));
const cleanUp = () => rm(work, { recursive: true, force: true });
process.once('SIGINT', () => {
  void cleanUp().finally(() => process.exit(130));
});

const world = await startWorld();
const proxy = await startCountingProxy({ target: world.s3Url });
try {
  const loadBefore = await loadAverage();
  log(`bench: ${options.quick ? 'quick' : 'full'} run, ${runs} runs per figure, work dir ${work}, load average ${loadBefore.join(' ')}`);

  /** Generates a release, publishes it as myapp <version>, and deletes the local file (the server holds it). */
  const publish = async (service, version, make) => {
    const file = join(work, `${service}-${version}.tar.gz`);
    const release = await make(file);
    await world.publish(service, version, file);
    await rm(file);
    log(`  published ${service} ${version}: ${(release.size / 1e6).toFixed(1)} MB, ${release.files} files, ${(release.contentBytes / 1e6).toFixed(0)} MB extracted`);
    return { ...release, version };
  };
  const generating = Date.now();
  const base = await publish('base', 'bench-base', (file) => generateBaseRelease({ file }));
  await world.promote('base', base.version, base.sha256);
  const fleetRelease = await publish('myapp', 'bench-small', (file) =>
    generateRelease({
      file,
      compressedBytes: fleetReleaseBytes,
      seed: 4,
      extraFiles: [
        { path: 'hooks/pre-release/10-noop', ...noopHook },
        { path: 'hooks/post-release/10-noop', ...noopHook },
      ],
    }),
  );
  // The sizes the chosen items need, each generated once (--quick pulls the memory item's small release).
  const needed = new Set([...(scenarios.has('pull') ? [sizes.pull] : []), ...(scenarios.has('memory') ? [sizes.small, sizes.large] : [])]);
  const bySize = new Map();
  for (const bytes of needed) {
    bySize.set(bytes, await publish('myapp', `bench-${bytes / mib}m`, (file) => generateRelease({ file, compressedBytes: bytes, seed: bytes / mib })));
  }
  log(`  releases ready in ${((Date.now() - generating) / 1000).toFixed(0)} s`);

  const sections = [];
  const common = { world, proxy, work, runs, log };
  if (scenarios.has('startup')) sections.push(await benchStartup(common));
  if (scenarios.has('check') || scenarios.has('noop')) {
    await world.promote('myapp', fleetRelease.version, fleetRelease.sha256);
    const root = join(work, 'deployed');
    await mkdir(root);
    expectSuccess('pulldeploy (first deploy of the check root)', await measure(binary, deployArgs(root), { env: world.agentEnv(proxy.url) }));
    if (scenarios.has('check')) sections.push(await benchCheck({ ...common, root }));
    if (scenarios.has('noop')) sections.push(await benchNoop({ ...common, root }));
  }
  if (scenarios.has('fleet')) sections.push(await benchFleet({ ...common, release: fleetRelease, agents }));
  if (scenarios.has('pull')) {
    sections.push(await benchPull({ ...common, release: bySize.get(sizes.pull), alternatives }));
  }
  if (scenarios.has('memory')) sections.push(await benchMemory({ ...common, small: bySize.get(sizes.small), large: bySize.get(sizes.large) }));

  const embeddedNodeVersion = expectSuccess('node --version', await measure(embeddedNode, ['--version'])).stdout.trim();
  const agentVersion = expectSuccess('pulldeploy --version', await measure(binary, ['--version'])).stdout.trim();
  const machine = describeMachine({ embeddedNodeVersion, loadBefore, loadAfter: await loadAverage() });
  const header = [
    `pulldeploy bench (${options.quick ? 'quick' : 'full'}), ${new Date().toISOString()}, ${((Date.now() - started) / 1000).toFixed(0)} s`,
    `${agentVersion}`,
    `${machine.cpu}, ${machine.cores} cores, ${machine.memory_gib} GiB, Linux ${machine.kernel}; load average ${machine.load_average_before.join(' ')} before, ${machine.load_average_after.join(' ')} after`,
    `medians with min – max over n runs; ratios are per-round pairs of runs made moments apart, alternating which goes first`,
  ];
  process.stdout.write(`${header.join('\n')}\n${formatTable(sections)}\n`);
  const results = {
    date: new Date().toISOString(),
    mode: options.quick ? 'quick' : 'full',
    runs,
    agent: agentVersion,
    machine,
    sections: sections.map(({ raw, ...section }) => ({ ...section, raw })),
  };
  await writeFile(options.out, `${JSON.stringify(results, null, 2)}\n`);
  log(`\nwrote ${options.out}`);
} finally {
  await proxy.stop();
  await world.stop();
  await cleanUp();
}

function chooseAlternatives(choice, known = variants) {
  if (choice === 'none') return [];
  if (choice === 'default') return defaultAlternatives;
  if (choice === 'all') return Object.keys(known);
  const names = choice.split(',');
  const unknown = names.filter((name) => !(name in known));
  if (unknown.length > 0) throw new Error(`unknown pipeline alternatives ${unknown.join(', ')}; known: ${Object.keys(known).join(' | ')}`);
  return names;
}
