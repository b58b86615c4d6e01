// Generates a benchmark release: a gzip tar of many small and a few large files, compressible text and incompressible bytes, to a target compressed size.
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { constants, crc32, createGzip, deflateRaw, deflateRawSync } from 'node:zlib';

const deflateRawAsync = promisify(deflateRaw);

const mib = 1024 * 1024;
/** Small files per MiB of compressed release: ~4 000 files in the 256 MiB release. */
const smallFilesPerMib = 16;
const smallFilesPerDir = 64;
const smallMinBytes = 512;
const smallMaxBytes = 64 * 1024;
/** Share of small files that are incompressible (images, fonts, minified bundles). */
const smallRandomShare = 0.2;
/** Of what the small files leave, the share taken by large incompressible files (libraries, media); the rest is large text (data, logs). */
const largeRandomShare = 0.75;
/** Text is compressed at level 1: ~10× faster to generate than level 6, and inflating costs the same. */
const textLevel = 1;
/** Text is deflated in segments of this size, several at once on the thread pool. */
const textSegmentBytes = 4 * mib;
const parallelSegments = 4;

/** A seeded xorshift32: the same seed gives the same release layout. */
function createRandom(seed) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x100000000;
  };
}

/** Deterministic incompressible bytes: AES-CTR over zeros, keyed by the seed. */
function createNoise(seed, bytes) {
  const key = createHash('sha256').update(`noise:${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(bytes)), cipher.final()]);
}

/** Source-like text: lines of words from a fixed vocabulary, indented; it compresses about 3–4× like real code and data. */
function createText(random, bytes) {
  const vocabulary = Array.from({ length: 4096 }, () => {
    const length = 2 + Math.floor(random() * 10);
    let word = '';
    for (let i = 0; i < length; i++) word += String.fromCharCode(97 + Math.floor(random() * 26));
    return word;
  });
  const punctuation = [' ', ' ', ' ', ', ', '.', '(', ') ', ' = ', '; ', ': '];
  const parts = [];
  let length = 0;
  while (length < bytes) {
    let line = ' '.repeat(2 * Math.floor(random() * 4));
    const words = 3 + Math.floor(random() * 9);
    for (let i = 0; i < words; i++) {
      line += vocabulary[Math.floor(random() ** 2 * vocabulary.length)];
      line += punctuation[Math.floor(random() * punctuation.length)];
    }
    line += '\n';
    parts.push(line);
    length += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

/** How much the text pool shrinks at the level used, to plan raw sizes from a compressed budget. */
function measureTextRatio(text) {
  const sample = text.subarray(0, Math.min(text.length, 4 * mib));
  return sample.length / deflateRawSync(sample, { level: textLevel }).length;
}

function octal(value, width) {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** A ustar header: uid/gid 0, fixed mtime, as `pulldeploy pack` writes them. */
function tarHeader({ path, type, size, mode }) {
  const header = Buffer.alloc(512);
  header.write(path, 0, 100, 'utf8');
  header.write(octal(mode, 8), 100, 'ascii');
  header.write(octal(0, 8), 108, 'ascii');
  header.write(octal(0, 8), 116, 'ascii');
  header.write(octal(size, 12), 124, 'ascii');
  header.write(octal(1_700_000_000, 12), 136, 'ascii');
  header.fill(0x20, 148, 156);
  header.write(type, 156, 'ascii');
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(octal(sum, 7) + ' ', 148, 'ascii');
  return header;
}

/** The files of a release of about `compressedBytes`: a planned list of paths, sizes and content kinds. */
function planFiles(random, compressedBytes, textRatio) {
  const files = [];
  const smallCount = Math.max(16, Math.round((compressedBytes / mib) * smallFilesPerMib));
  let smallCompressed = 0;
  for (let i = 0; i < smallCount; i++) {
    const size = Math.round(smallMinBytes * (smallMaxBytes / smallMinBytes) ** random());
    const kind = random() < smallRandomShare ? 'noise' : 'text';
    const dir = `app/lib/d${String(Math.floor(i / smallFilesPerDir)).padStart(4, '0')}`;
    files.push({ path: `${dir}/f${String(i).padStart(6, '0')}.${kind === 'text' ? 'js' : 'bin'}`, size, kind });
    smallCompressed += kind === 'text' ? size / textRatio : size;
  }
  const left = Math.max(0, compressedBytes - smallCompressed);
  const largeCount = Math.max(2, Math.round(Math.log2(compressedBytes / mib)));
  const noiseCount = Math.max(1, Math.round(largeCount * 0.7));
  const textCount = Math.max(1, largeCount - noiseCount);
  for (let i = 0; i < noiseCount; i++) {
    files.push({ path: `app/vendor/lib${i}.so`, size: Math.round((left * largeRandomShare) / noiseCount), kind: 'noise' });
  }
  for (let i = 0; i < textCount; i++) {
    files.push({ path: `app/data/dump${i}.json`, size: Math.round((left * (1 - largeRandomShare) * textRatio) / textCount), kind: 'text' });
  }
  return files;
}

function directoriesOf(files) {
  const dirs = new Set();
  for (const { path } of files) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...dirs].sort();
}

/** Deflate's stored blocks (BTYPE 00, not final) holding `data` as it is: what deflate makes of incompressible bytes anyway. */
function storedBlocks(data) {
  const blocks = [];
  for (let start = 0; start < data.length; start += 65535) {
    const block = data.subarray(start, start + 65535);
    const header = Buffer.alloc(5);
    header.writeUInt16LE(block.length, 1);
    header.writeUInt16LE(~block.length & 0xffff, 3);
    blocks.push(header, block);
  }
  return Buffer.concat(blocks);
}

/**
 * One gzip member written as a sequence of independently made deflate segments, each ending byte-aligned
 * (a sync flush), so text can be deflated on the thread pool in parallel while large incompressible files
 * go in as stored blocks at memory speed (switching levels with zlib's params() did not speed up stored data here).
 */
function createGzipWriter(out) {
  const hash = createHash('sha256');
  let size = 0;
  let crc = 0;
  let length = 0;
  let pendingText = [];
  let pendingTextBytes = 0;
  /** Segments in the order they go out; each resolves to its compressed bytes. */
  const inFlight = [];
  const emit = async (buffer) => {
    hash.update(buffer);
    size += buffer.length;
    if (!out.write(buffer)) await once(out, 'drain');
  };
  const drainTo = async (limit) => {
    while (inFlight.length > limit) await emit(await inFlight.shift());
  };
  const queue = async (segment) => {
    inFlight.push(segment);
    await drainTo(parallelSegments);
  };
  const flushText = async () => {
    if (pendingTextBytes === 0) return;
    const data = Buffer.concat(pendingText);
    pendingText = [];
    pendingTextBytes = 0;
    await queue(deflateRawAsync(data, { level: textLevel, finishFlush: constants.Z_SYNC_FLUSH }));
  };
  const account = (data) => {
    crc = crc32(data, crc);
    length += data.length;
  };
  return {
    async start() {
      // Magic, deflate, no flags, mtime 0, no extra flags, OS unix.
      await emit(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]));
    },
    async text(data) {
      account(data);
      pendingText.push(data);
      pendingTextBytes += data.length;
      if (pendingTextBytes >= textSegmentBytes) await flushText();
    },
    async stored(data) {
      account(data);
      await flushText();
      await queue(Promise.resolve(storedBlocks(data)));
    },
    async finish() {
      await flushText();
      await drainTo(0);
      // The final block: fixed Huffman, end-of-block only.
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(crc >>> 0, 0);
      trailer.writeUInt32LE(length % 0x100000000, 4);
      await emit(Buffer.concat([Buffer.from([0x03, 0x00]), trailer]));
      out.end();
      await once(out, 'close');
      return { size, sha256: hash.digest('hex') };
    },
  };
}

/**
 * Writes a release .tar.gz of about `compressedBytes` to `file`, plus `extraFiles` ({ path, content, mode })
 * first. Large incompressible files are stored blocks; everything else is deflated at level 1.
 * Resolves with the real size, the sha256 of the .tar.gz, and the number of entries and content bytes.
 */
export async function generateRelease({ file, compressedBytes, seed = 1, extraFiles = [] }) {
  const random = createRandom(seed);
  const noise = createNoise(seed, 32 * mib);
  const text = createText(random, 16 * mib);
  const textRatio = measureTextRatio(text);
  const files = planFiles(random, compressedBytes, textRatio);
  const dirs = directoriesOf([...files, ...extraFiles]);
  const gzip = createGzipWriter(createWriteStream(file));
  await gzip.start();

  /** Slices of a pool at random places; long files are made of several slices. */
  const writeContent = async (entry) => {
    const pool = entry.kind === 'text' ? text : noise;
    const storeIt = entry.kind === 'noise' && entry.size > smallMaxBytes;
    let remaining = entry.size;
    while (remaining > 0) {
      const length = Math.min(remaining, pool.length / 2, 4 * mib);
      const start = Math.floor(random() * (pool.length - length));
      const slice = pool.subarray(start, start + length);
      await (storeIt ? gzip.stored(slice) : gzip.text(slice));
      remaining -= length;
    }
  };

  for (const dir of dirs) await gzip.text(tarHeader({ path: `${dir}/`, type: '5', size: 0, mode: 0o755 }));
  let contentBytes = 0;
  for (const extra of extraFiles) {
    const bytes = Buffer.from(extra.content);
    await gzip.text(tarHeader({ path: extra.path, type: '0', size: bytes.length, mode: extra.mode }));
    await gzip.text(Buffer.concat([bytes, Buffer.alloc((512 - (bytes.length % 512)) % 512)]));
    contentBytes += bytes.length;
  }
  for (const entry of files) {
    await gzip.text(tarHeader({ path: entry.path, type: '0', size: entry.size, mode: 0o644 }));
    await writeContent(entry);
    const padding = (512 - (entry.size % 512)) % 512;
    if (padding > 0) await gzip.text(Buffer.alloc(padding));
    contentBytes += entry.size;
  }
  await gzip.text(Buffer.alloc(1024));
  const { size, sha256 } = await gzip.finish();
  const fileCount = files.length + extraFiles.length;
  return { file, size, sha256, entries: dirs.length + fileCount, files: fileCount, contentBytes };
}

/** A small base release (states, pillar, grains), as every deploy needs one. */
export async function generateBaseRelease({ file }) {
  const files = {
    'states/top.sls': "base:\n  '*':\n    - common\n",
    'states/common.sls': 'pulldeploy-bench:\n  test.nop\n',
    'pillar/top.sls': "base:\n  '*': []\n",
    'grains/bench': 'bench: true\n',
  };
  const gzip = createGzip({ level: 6 });
  const out = createWriteStream(file);
  const hash = createHash('sha256');
  let size = 0;
  gzip.on('data', (chunk) => {
    hash.update(chunk);
    size += chunk.length;
  });
  gzip.pipe(out);
  for (const dir of ['grains', 'pillar', 'states']) gzip.write(tarHeader({ path: `${dir}/`, type: '5', size: 0, mode: 0o755 }));
  for (const [path, content] of Object.entries(files)) {
    const bytes = Buffer.from(content);
    gzip.write(tarHeader({ path, type: '0', size: bytes.length, mode: 0o644 }));
    gzip.write(bytes);
    gzip.write(Buffer.alloc((512 - (bytes.length % 512)) % 512));
  }
  gzip.end(Buffer.alloc(1024));
  await once(out, 'close');
  return { file, size, sha256: hash.digest('hex'), entries: 7, files: 4, contentBytes: 0 };
}
