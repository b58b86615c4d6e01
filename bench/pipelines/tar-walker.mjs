// A streaming tar reader for the pipeline alternatives: finds each entry's real path (ustar prefix, pax, GNU long names) and hands out header and data bytes.

const block = 512;

function readString(buffer, start, length) {
  const end = buffer.indexOf(0, start);
  return buffer.toString('utf8', start, end === -1 || end > start + length ? start + length : end);
}

function readOctal(buffer, start, length) {
  // GNU base-256 for sizes over 8 GiB: the high bit of the first byte.
  if (buffer[start] & 0x80) {
    let value = 0;
    for (let i = start + 1; i < start + length; i++) value = value * 256 + buffer[i];
    return value;
  }
  const text = readString(buffer, start, length).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function isZeroBlock(buffer, start) {
  for (let i = start; i < start + block; i++) if (buffer[i] !== 0) return false;
  return true;
}

/** pax records: "<length> <key>=<value>\n". */
function parsePax(buffer) {
  const fields = {};
  let at = 0;
  while (at < buffer.length) {
    const space = buffer.indexOf(0x20, at);
    if (space === -1) break;
    const length = parseInt(buffer.toString('ascii', at, space), 10);
    if (!(length > 0)) break;
    const record = buffer.toString('utf8', space + 1, at + length - 1);
    const equals = record.indexOf('=');
    if (equals > 0) fields[record.slice(0, equals)] = record.slice(equals + 1);
    at += length;
  }
  return fields;
}

const typeNames = { '0': 'file', '\0': 'file', '7': 'file', '5': 'directory', '2': 'symlink', '1': 'hardlink', '3': 'character device', '4': 'block device', '6': 'FIFO' };

/** Rewrites the mode of a ustar header in place, with its checksum. */
export function patchHeaderMode(header, mode) {
  header.write(mode.toString(8).padStart(7, '0') + '\0', 100, 'ascii');
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < block; i++) sum += header[i];
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
}

/**
 * Feeds tar bytes in, calls back per entry.
 * `onEntry({ path, type, linkpath, size, mode, mtime, header, meta })` runs once an entry's headers are complete:
 * `header` is its 512-byte ustar header (patchable), `meta` the pax/GNU blocks before it.
 * `onData(chunk)` gets the entry's content (no padding); `onEnd()` after its last byte; `onRaw(bytes)` every
 * byte of the stream that belongs to an entry (meta, header after onEntry returned, content with padding), for passing through.
 * Callbacks may return promises; push() awaits them in order.
 */
export class TarWalker {
  /** Bytes of an incomplete block, kept for the next push. */
  #pending = Buffer.alloc(0);
  /** The pax/GNU blocks seen before the entry they describe, and what they say. */
  #meta = [];
  #pax = {};
  #longName;
  #longLink;
  /** A pax or GNU long-name body being read: its type, size, and bytes with padding. */
  #metaType = '';
  #metaSize = 0;
  #metaWanted = 0;
  #metaBody = Buffer.alloc(0);
  /** Bytes of content and padding left in the current entry. */
  #contentLeft = 0;
  #paddingLeft = 0;
  #ended = false;

  constructor(handlers) {
    this.handlers = handlers;
  }

  get ended() {
    return this.#ended;
  }

  async push(chunk) {
    let data = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = Buffer.alloc(0);
    let at = 0;
    while (at < data.length && !this.#ended) {
      if (this.#contentLeft > 0) {
        const take = Math.min(this.#contentLeft, data.length - at);
        const slice = data.subarray(at, at + take);
        await this.handlers.onRaw?.(slice);
        await this.handlers.onData?.(slice);
        this.#contentLeft -= take;
        at += take;
        if (this.#contentLeft === 0) await this.handlers.onEnd?.();
        continue;
      }
      if (this.#paddingLeft > 0) {
        const take = Math.min(this.#paddingLeft, data.length - at);
        await this.handlers.onRaw?.(data.subarray(at, at + take));
        this.#paddingLeft -= take;
        at += take;
        continue;
      }
      if (this.#metaWanted > 0) {
        const take = Math.min(this.#metaWanted - this.#metaBody.length, data.length - at);
        this.#metaBody = Buffer.concat([this.#metaBody, data.subarray(at, at + take)]);
        at += take;
        if (this.#metaBody.length === this.#metaWanted) this.#finishMeta();
        continue;
      }
      if (data.length - at < block) break;
      const header = Buffer.from(data.subarray(at, at + block));
      at += block;
      if (isZeroBlock(header, 0)) {
        this.#ended = true;
        await this.handlers.onRaw?.(Buffer.concat([...this.#meta, header]));
        break;
      }
      await this.#header(header);
    }
    if (at < data.length && !this.#ended) this.#pending = Buffer.from(data.subarray(at));
  }

  #finishMeta() {
    const body = this.#metaBody.subarray(0, this.#metaSize);
    if (this.#metaType === 'x') Object.assign(this.#pax, parsePax(body));
    else if (this.#metaType === 'L') this.#longName = readString(body, 0, body.length);
    else if (this.#metaType === 'K') this.#longLink = readString(body, 0, body.length);
    this.#meta.push(this.#metaBody);
    this.#metaWanted = 0;
    this.#metaBody = Buffer.alloc(0);
  }

  async #header(header) {
    const type = String.fromCharCode(header[156]);
    const size = readOctal(header, 124, 12);
    if (type === 'x' || type === 'L' || type === 'K' || type === 'g') {
      if (type === 'g') throw new Error('global pax headers are not supported');
      this.#meta.push(header);
      this.#metaType = type;
      this.#metaSize = size;
      this.#metaWanted = Math.ceil(size / block) * block;
      if (this.#metaWanted === 0) this.#finishMeta();
      return;
    }
    const prefix = readString(header, 345, 155);
    const name = readString(header, 0, 100);
    const path = this.#pax.path ?? this.#longName ?? (prefix ? `${prefix}/${name}` : name);
    const linkpath = this.#pax.linkpath ?? this.#longLink ?? readString(header, 157, 100);
    const realSize = this.#pax.size !== undefined ? Number(this.#pax.size) : size;
    const entry = {
      path,
      type: typeNames[type] ?? `type ${JSON.stringify(type)}`,
      linkpath: type === '1' || type === '2' ? linkpath : undefined,
      size: type === '0' || type === '\0' || type === '7' ? realSize : 0,
      mode: readOctal(header, 100, 8),
      mtime: readOctal(header, 136, 12),
      header,
      meta: this.#meta,
    };
    this.#meta = [];
    this.#pax = {};
    this.#longName = undefined;
    this.#longLink = undefined;
    await this.handlers.onEntry(entry);
    await this.handlers.onRaw?.(Buffer.concat([...entry.meta, header]));
    this.#contentLeft = entry.size;
    this.#paddingLeft = (block - (entry.size % block)) % block;
    if (entry.size === 0) await this.handlers.onEnd?.();
  }
}
