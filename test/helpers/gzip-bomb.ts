// Gzip bombs for tests, made in milliseconds: each distinct piece of data is deflated once and its compressed bytes
// repeated, so a stream that inflates to 10 GiB costs ~10 MB to build and no minutes of compression.
import { constants, crc32, deflateRawSync } from 'node:zlib';

/** `data`, `times` times in a row, in the uncompressed stream. */
export interface Run {
  data: Buffer;
  times: number;
}

/**
 * One valid gzip member whose content is the runs in order. A full flush ends each deflated piece on a byte
 * boundary with an empty history, so the pieces concatenate into one valid deflate stream; the trailer's CRC-32
 * and length are those of the whole content (combined arithmetically, never computed over 10 GiB).
 */
export function gzipOfRuns(runs: readonly Run[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])];
  let crc = 0;
  let length = 0;
  // The same buffer in many runs (1 MiB of zeros after every header) is deflated and checksummed once.
  const known = new Map<Buffer, { piece: Buffer; crc: number }>();
  for (const run of runs) {
    const { piece, crc: dataCrc } = known.get(run.data) ?? {
      piece: deflateRawSync(run.data, { level: 9, finishFlush: constants.Z_FULL_FLUSH }),
      crc: crc32(run.data),
    };
    known.set(run.data, { piece, crc: dataCrc });
    for (let i = 0; i < run.times; i += 1) parts.push(piece);
    crc = crc32Combine(crc, crc32OfRepeats(dataCrc, run.data.length, run.times), run.data.length * run.times);
    length += run.data.length * run.times;
  }
  // The final empty block (BFINAL=1, fixed Huffman, end-of-block) closes the deflate stream.
  parts.push(Buffer.from([0x03, 0x00]));
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(length % 2 ** 32, 4);
  parts.push(trailer);
  return Buffer.concat(parts);
}

/** CRC-32 of data (of CRC `dataCrc` and `dataLength` bytes) repeated `times` times, by doubling. */
function crc32OfRepeats(dataCrc: number, dataLength: number, times: number): number {
  let result = 0;
  let resultLength = 0;
  let block = dataCrc;
  let blockLength = dataLength;
  for (let n = times; n > 0; n = Math.floor(n / 2)) {
    if (n % 2 === 1) {
      result = crc32Combine(result, block, blockLength);
      resultLength += blockLength;
    }
    block = crc32Combine(block, block, blockLength);
    blockLength *= 2;
  }
  return resultLength === 0 ? 0 : result;
}

const polynomial = 0xedb88320;

/** a(x)·b(x) modulo the CRC-32 polynomial, in the reflected bit order CRC-32 uses. */
function multiplyModP(a: number, b: number): number {
  let product = 0;
  let factor = b >>> 0;
  for (let bit = 0x80000000; bit !== 0; bit >>>= 1) {
    if ((a & bit) !== 0) product ^= factor;
    factor = factor & 1 ? (factor >>> 1) ^ polynomial : factor >>> 1;
  }
  return product >>> 0;
}

/** x^(8·bytes) modulo the polynomial: what shifting a CRC past `bytes` more bytes multiplies it by. */
function shiftByBytes(bytes: number): number {
  let result = 0x80000000; // x^0
  let power = 0x40000000; // x^1
  // Square up to x^8, one byte.
  for (let i = 0; i < 3; i += 1) power = multiplyModP(power, power);
  for (let n = bytes; n > 0; n = Math.floor(n / 2)) {
    if (n % 2 === 1) result = multiplyModP(power, result);
    power = multiplyModP(power, power);
  }
  return result;
}

/** CRC-32 of A followed by B, from CRC-32(A), CRC-32(B) and B's length. */
function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multiplyModP(shiftByBytes(lengthB), crcA) ^ crcB) >>> 0;
}
