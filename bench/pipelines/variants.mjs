// Alternative download → sha256 → gunzip → extract → fsync pipelines, measured beside the agent's own to choose the fastest safe one.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { link, mkdir, open, readdir, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Unpack } from 'tar';
import { EntryPolicy } from '../../dist/js/artifacts/entry-policy.js';
import { extractTar } from '../../dist/js/artifacts/extract.js';
import { fetchRelease } from '../../dist/js/artifacts/fetch-release.js';
import { createAgentS3Store } from '../../dist/js/artifacts/agent-s3-store.js';
import { syncEachPath } from '../../dist/js/artifacts/sync-tree.js';
import { createLogger } from '../../dist/js/log/logger.js';
import { TarWalker, patchHeaderMode } from './tar-walker.mjs';

const limits = { maxBytes: 8 * 1024 ** 3, maxEntries: 200_000 };
/** The agent's zlib output chunk size (fetch-release.ts). */
const gunzipChunkSize = 256 * 1024;

const quietLogger = createLogger({ verbosity: 0, json: false, write: () => undefined });

/** The agent's own S3 store: with the bench's environment keys, signed GETs and no SDK. */
function agentStore(bucket) {
  const metadata = { read: () => Promise.reject(new Error('the bench gives the agent its keys in the environment')) };
  return createAgentS3Store({ bucket, region: 'us-east-1', logger: quietLogger, env: process.env, metadata });
}

async function openBody({ bucket, key }) {
  return (await agentStore(bucket).openRelease(key)).body;
}

function hashing(hash) {
  return new Transform({
    transform(chunk, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
}

function drain() {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}

/** Runs `tar -x` on stdin into dir; resolves on exit 0. GNU tar may close stdin after the end-of-archive blocks: EPIPE is ignored. */
function spawnTar(dir) {
  const child = spawn('tar', ['-x', '-f', '-', '-C', dir, '--no-same-owner', '--no-same-permissions'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdin.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error;
  });
  const exited = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(undefined) : reject(new Error(`tar exited ${code}: ${stderr}`))));
  });
  return { child, exited };
}

/** A writable that hands tar bytes to a TarWalker, awaiting its callbacks (backpressure), ignoring bytes after the end. */
function walking(walker) {
  return new Writable({
    highWaterMark: gunzipChunkSize,
    write(chunk, _encoding, callback) {
      if (walker.ended) return callback();
      walker.push(chunk).then(() => callback(), callback);
    },
  });
}

/** Every entry checked by the agent's EntryPolicy, its mode replaced by the one the policy allows. */
function checkedEntry(policy, entry) {
  const { mode } = policy.check({
    path: entry.path,
    type: entry.type,
    ...(entry.linkpath !== undefined ? { linkpath: entry.linkpath } : {}),
    size: entry.size,
    mode: entry.mode,
  });
  return mode;
}

/** Policy gate in Node, GNU tar writes: tar only ever sees entries the policy passed, with the policy's modes. */
function gatedTarSink(dir) {
  const policy = new EntryPolicy(limits);
  const tar = spawnTar(dir);
  const write = async (bytes) => {
    if (!tar.child.stdin.write(bytes)) await Promise.race([once(tar.child.stdin, 'drain'), tar.exited]);
  };
  const walker = new TarWalker({
    onEntry: (entry) => patchHeaderMode(entry.header, checkedEntry(policy, entry)),
    onRaw: write,
  });
  const sink = walking(walker);
  return {
    sink,
    done: async () => {
      // The walker passes the first end-of-archive block; GNU tar wants the second too.
      await write(Buffer.alloc(512));
      tar.child.stdin.end();
      await tar.exited;
    },
  };
}

/** Policy and writes both in Node without node-tar: open, write, close per file on the thread pool. */
function ownWriterSink(dir) {
  const policy = new EntryPolicy(limits);
  let file;
  let current;
  const made = new Set([dir]);
  const ensureDir = async (path) => {
    if (made.has(path)) return;
    await mkdir(path, { recursive: true, mode: 0o755 });
    made.add(path);
  };
  const walker = new TarWalker({
    async onEntry(entry) {
      const mode = checkedEntry(policy, entry);
      const target = join(dir, entry.path);
      current = { target, mtime: entry.mtime, type: entry.type };
      if (entry.type === 'directory') return ensureDir(target);
      await ensureDir(dirname(target));
      if (entry.type === 'symlink') return symlink(entry.linkpath, target);
      if (entry.type === 'hardlink') return link(join(dir, entry.linkpath), target);
      file = await open(target, 'w', mode);
    },
    async onData(chunk) {
      await file.write(chunk);
    },
    async onEnd() {
      if (current.type !== 'file') return;
      await file.utimes(current.mtime, current.mtime);
      await file.close();
      file = undefined;
    },
  });
  return { sink: walking(walker), done: async () => undefined };
}

/** Bytes written but not yet on the page cache at most, across files, while the stream runs on. */
const maxBytesInFlight = 8 * 1024 * 1024;
/** Files open at once at most. */
const maxFilesInFlight = 64;

/**
 * As ownWriterSink, but writes are not awaited one by one: each file's writes are chained on its own,
 * several files are written at once on the thread pool, and only bytes in flight are bounded.
 */
function parallelWriterSink(dir, { fsyncOnClose = false } = {}) {
  const policy = new EntryPolicy(limits);
  const made = new Set([dir]);
  const pending = new Set();
  let inFlight = 0;
  let failure;
  let current;
  const ensureDir = async (path) => {
    if (made.has(path)) return;
    await mkdir(path, { recursive: true, mode: 0o755 });
    made.add(path);
  };
  const settleSome = async () => {
    while (pending.size > 0 && (inFlight > maxBytesInFlight || pending.size > maxFilesInFlight)) await Promise.race(pending);
    if (failure) throw failure;
  };
  const settleAll = async () => {
    await Promise.all(pending);
    if (failure) throw failure;
  };
  const walker = new TarWalker({
    async onEntry(entry) {
      const mode = checkedEntry(policy, entry);
      const target = join(dir, entry.path);
      current = undefined;
      if (entry.type === 'directory') return ensureDir(target);
      await ensureDir(dirname(target));
      if (entry.type === 'symlink') return symlink(entry.linkpath, target);
      // A hardlink's target must exist first: let every file in flight land.
      if (entry.type === 'hardlink') return settleAll().then(() => link(join(dir, entry.linkpath), target));
      await settleSome();
      current = { chain: open(target, 'w', mode), mtime: entry.mtime };
    },
    async onData(chunk) {
      inFlight += chunk.length;
      current.chain = current.chain.then(async (handle) => {
        await handle.write(chunk);
        inFlight -= chunk.length;
        return handle;
      });
      if (inFlight > maxBytesInFlight) {
        const tracked = current.chain.then(() => undefined);
        pending.add(tracked);
        tracked.finally(() => pending.delete(tracked));
        await settleSome();
      }
    },
    async onEnd() {
      if (current === undefined) return;
      const { mtime } = current;
      const done = current.chain
        .then(async (handle) => {
          await handle.utimes(mtime, mtime);
          // Flushed while the stream runs on, instead of in a pass over the whole tree afterwards.
          if (fsyncOnClose) await handle.sync();
          await handle.close();
        })
        .catch((error) => {
          failure ??= error;
        });
      pending.add(done);
      done.finally(() => pending.delete(done));
      current = undefined;
    },
  });
  return { sink: walking(walker), done: settleAll };
}

function nodeTarSink(dir) {
  const unpack = new Unpack({ cwd: dir, strict: true, preserveOwner: false });
  return { sink: unpack, done: async () => undefined };
}

function plainTarSink(dir) {
  const tar = spawnTar(dir);
  return { sink: tar.child.stdin, done: () => tar.exited };
}

function productExtractSink(dir) {
  return { sink: undefined, extract: (stream) => extractTar(stream, dir, new EntryPolicy(limits)) };
}

/** Flushes the whole filesystem of dir in one syncfs(2) (coreutils `sync -f`): one journal commit instead of one per file. */
async function syncFilesystem(dir) {
  const child = spawn('sync', ['-f', dir], { stdio: 'ignore' });
  const [code] = await once(child, 'close');
  if (code !== 0) throw new Error(`sync -f ${dir} exited ${code}`);
}

const sinks = {
  none: () => ({ sink: drain(), done: async () => undefined }),
  'node-tar': nodeTarSink,
  'product-extract': productExtractSink,
  'tar-spawn': plainTarSink,
  'gated-tar': gatedTarSink,
  'own-writer': ownWriterSink,
  'parallel-writer': parallelWriterSink,
  'parallel-writer-fsync-on-close': (dir) => parallelWriterSink(dir, { fsyncOnClose: true }),
};
/** Every directory under root, deepest first, fsynced: what is left to flush when each file was flushed as it closed. */
async function syncDirectories(root) {
  const dirs = [];
  const visit = async (current) => {
    for (const entry of await readdir(current, { withFileTypes: true })) if (entry.isDirectory()) await visit(join(current, entry.name));
    dirs.push(current);
  };
  await visit(root);
  for (const path of dirs) {
    const handle = await open(path, 'r');
    await handle.sync();
    await handle.close();
  }
}

const syncs = { none: async () => undefined, tree: syncEachPath, syncfs: syncFilesystem, dirs: syncDirectories };

/**
 * The alternatives, by id: what extracts, how the tree is flushed, and a label for the table.
 * `agent-fetch` is the agent's own fetchRelease (dist/js) without the CLI around it.
 */
export const variants = {
  'download': { label: 'download + sha256, nothing else', sink: 'none', gunzip: false, sync: 'none' },
  'gunzip': { label: 'download + sha256 + gunzip, no extraction (the floor)', sink: 'none', gunzip: true, sync: 'none' },
  'node-tar': { label: 'node-tar without the policy, no fsync', sink: 'node-tar', gunzip: true, sync: 'none' },
  'agent-extract': { label: "the agent's extract (node-tar's parser + policy + parallel writes), no flush", sink: 'product-extract', gunzip: true, sync: 'none' },
  'agent-extract-fsync': { label: "the agent's extract, fsync per file", sink: 'product-extract', gunzip: true, sync: 'tree' },
  'agent-extract-syncfs': { label: "the agent's extract, one syncfs", sink: 'product-extract', gunzip: true, sync: 'syncfs' },
  'tar': { label: 'spawned GNU tar without the policy, no fsync', sink: 'tar-spawn', gunzip: true, sync: 'none' },
  'gate-tar': { label: 'policy gate → spawned GNU tar, no fsync', sink: 'gated-tar', gunzip: true, sync: 'none' },
  'gate-tar-syncfs': { label: 'policy gate → spawned GNU tar, one syncfs', sink: 'gated-tar', gunzip: true, sync: 'syncfs' },
  'writer': { label: 'own tar reader + policy + fs writes one at a time, no fsync', sink: 'own-writer', gunzip: true, sync: 'none' },
  'writer-fsync': { label: 'own tar reader + policy + fs writes one at a time, fsync per file', sink: 'own-writer', gunzip: true, sync: 'tree' },
  'writer-syncfs': { label: 'own tar reader + policy + fs writes one at a time, one syncfs', sink: 'own-writer', gunzip: true, sync: 'syncfs' },
  'parallel': { label: 'own tar reader + policy + parallel fs writes, no fsync', sink: 'parallel-writer', gunzip: true, sync: 'none' },
  'parallel-fsync': { label: 'own tar reader + policy + parallel fs writes, fsync per file', sink: 'parallel-writer', gunzip: true, sync: 'tree' },
  'parallel-syncfs': { label: 'own tar reader + policy + parallel fs writes, one syncfs', sink: 'parallel-writer', gunzip: true, sync: 'syncfs' },
  'parallel-fsync-early': {
    label: 'own tar reader + policy + parallel fs writes, each file fsynced as it closes',
    sink: 'parallel-writer-fsync-on-close',
    gunzip: true,
    sync: 'dirs',
  },
  'agent-fetch': { label: "the agent's fetchRelease as shipped (extract, one syncfs)", agentFetch: true },
};

/** Runs one variant: the agent's signed GET → sha256 → [gunzip →] sink, then the flush. Returns the digest. */
export async function runVariant(id, { bucket, key, version, dir, sha256 }) {
  const variant = variants[id];
  if (variant === undefined) throw new Error(`no pipeline variant "${id}"; known: ${Object.keys(variants).join(', ')}`);
  if (variant.agentFetch) {
    await fetchRelease({ store: agentStore(bucket), key, version, sha256, releasesDir: dir, limits, attempts: 1, logger: quietLogger });
    return sha256;
  }
  await mkdir(dir, { recursive: true });
  const hash = createHash('sha256');
  const body = await openBody({ bucket, key });
  const stages = [body, hashing(hash)];
  if (variant.gunzip) stages.push(createGunzip({ chunkSize: gunzipChunkSize }));
  const made = sinks[variant.sink](dir);
  if (made.extract) {
    const tail = stages.pop();
    const head = stages.length > 0 ? [pipeline(...stages, tail)] : [];
    await Promise.all([...head, made.extract(tail)]);
  } else {
    await pipeline(...stages, made.sink);
    await made.done();
  }
  await syncs[variant.sync](dir);
  return hash.digest('hex');
}
