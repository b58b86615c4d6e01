// Tar headers written by hand: read back by node-tar (an independent reader), fixed owner fields, long names through ustar prefix and pax.
import { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { endOfArchive, maxOctalValue, padding, tarHeader, type TarHeaderFields } from '../../../src/publish/tar-header.js';

interface Parsed {
  path: string;
  type: string;
  mode: number | undefined;
  size: number;
  mtime: number | undefined;
  uid: number | undefined;
  gid: number | undefined;
  uname: string | undefined;
  gname: string | undefined;
  linkpath: string | undefined;
  content: string;
}

async function parse(archive: Buffer): Promise<Parsed[]> {
  const entries: Parsed[] = [];
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () =>
        entries.push({
          path: entry.path,
          type: entry.type,
          mode: entry.mode,
          size: entry.size,
          mtime: entry.mtime ? entry.mtime.getTime() / 1000 : undefined,
          uid: entry.uid,
          gid: entry.gid,
          uname: entry.uname,
          gname: entry.gname,
          linkpath: entry.linkpath,
          content: Buffer.concat(chunks).toString(),
        }),
      );
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('error', reject);
    Readable.from([archive]).pipe(parser);
  });
  return entries;
}

function archive(entries: { fields: TarHeaderFields; content?: string }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const { fields, content } of entries) {
    blocks.push(tarHeader(fields));
    if (content !== undefined) blocks.push(Buffer.from(content), padding(Buffer.byteLength(content)));
  }
  blocks.push(endOfArchive());
  return Buffer.concat(blocks);
}

describe('tarHeader', () => {
  it('writes entries node-tar reads back: types, modes, sizes, mtime, owner 0 with empty names', async () => {
    const parsed = await parse(
      archive([
        { fields: { path: 'hooks/', kind: 'directory', mode: 0o755, size: 0, mtime: 1_700_000_000 } },
        { fields: { path: 'hooks/run', kind: 'file', mode: 0o755, size: 3, mtime: 1_700_000_000 }, content: 'abc' },
        { fields: { path: 'link', kind: 'symlink', mode: 0o777, size: 0, mtime: 1_700_000_000, linkpath: 'hooks/run' } },
      ]),
    );
    expect(parsed).toEqual([
      { path: 'hooks/', type: 'Directory', mode: 0o755, size: 0, mtime: 1_700_000_000, uid: 0, gid: 0, uname: '', gname: '', linkpath: undefined, content: '' },
      { path: 'hooks/run', type: 'File', mode: 0o755, size: 3, mtime: 1_700_000_000, uid: 0, gid: 0, uname: '', gname: '', linkpath: undefined, content: 'abc' },
      { path: 'link', type: 'SymbolicLink', mode: 0o777, size: 0, mtime: 1_700_000_000, uid: 0, gid: 0, uname: '', gname: '', linkpath: 'hooks/run', content: '' },
    ]);
  });

  it('keeps a path of up to 255 bytes in ustar fields, split at a slash over prefix and name', async () => {
    const path = `${'d'.repeat(150)}/${'f'.repeat(99)}`;
    const header = tarHeader({ path, kind: 'file', mode: 0o644, size: 0, mtime: 0 });
    expect(header).toHaveLength(512);
    expect((await parse(Buffer.concat([header, endOfArchive()])))[0]?.path).toBe(path);
  });

  it('puts longer paths and link targets in a pax header', async () => {
    const path = `${'d'.repeat(300)}/file`;
    const linkpath = `${'t'.repeat(150)}/target`;
    const header = tarHeader({ path, kind: 'symlink', mode: 0o777, size: 0, mtime: 0, linkpath });
    expect(header.length).toBeGreaterThan(512);
    expect(header.subarray(156, 157).toString()).toBe('x');
    const [entry] = await parse(Buffer.concat([header, endOfArchive()]));
    expect(entry).toMatchObject({ path, linkpath, type: 'SymbolicLink' });
  });

  it('carries a valid header checksum', () => {
    const header = tarHeader({ path: 'a', kind: 'file', mode: 0o644, size: 1, mtime: 0 });
    const stored = Number.parseInt(header.subarray(148, 154).toString(), 8);
    const copy = Buffer.from(header);
    copy.write(' '.repeat(8), 148, 'latin1');
    expect(stored).toBe(copy.reduce((sum, byte) => sum + byte, 0));
  });

  it('refuses a size the format cannot hold', () => {
    expect(() => tarHeader({ path: 'huge', kind: 'file', mode: 0o644, size: maxOctalValue + 1, mtime: 0 })).toThrow(UsageError);
  });
});

describe('padding', () => {
  it('fills content to whole 512-byte blocks', () => {
    expect(padding(0)).toHaveLength(0);
    expect(padding(1)).toHaveLength(511);
    expect(padding(512)).toHaveLength(0);
    expect(padding(513)).toHaveLength(511);
  });
});
