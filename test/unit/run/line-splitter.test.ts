// LineSplitter: lines across chunk boundaries, a last partial line, and cutting of overlong lines.
import { describe, expect, it } from 'vitest';
import { LineSplitter, lineCutMarker } from '../../../src/run/line-splitter.js';

function splitter(maxLineLength = 100) {
  const lines: string[] = [];
  return { lines, splitter: new LineSplitter(maxLineLength, (line) => lines.push(line)) };
}

describe('LineSplitter', () => {
  it('joins lines split across chunks and keeps empty lines', () => {
    const { lines, splitter: s } = splitter();
    s.write('al');
    s.write('pha\n\nbe');
    s.write('ta\ngamma\n');
    expect(lines).toEqual(['alpha', '', 'beta', 'gamma']);
  });

  it('emits a last line without newline only on flush', () => {
    const { lines, splitter: s } = splitter();
    s.write('done\npartial');
    expect(lines).toEqual(['done']);
    s.flush();
    expect(lines).toEqual(['done', 'partial']);
    s.flush();
    expect(lines).toEqual(['done', 'partial']);
  });

  it('cuts an overlong line as soon as it passes the limit, once, and drops the rest of it', () => {
    const { lines, splitter: s } = splitter(10);
    s.write('x'.repeat(8));
    expect(lines).toEqual([]);
    s.write('x'.repeat(8));
    // Emitted during write, before any newline: nothing waits for the line to end.
    expect(lines).toEqual(['x'.repeat(10) + lineCutMarker]);
    for (let i = 0; i < 1000; i += 1) s.write('y'.repeat(1000));
    s.write('zz\nnext\n');
    expect(lines).toEqual(['x'.repeat(10) + lineCutMarker, 'next']);
  });

  it('keeps a line of exactly the limit whole', () => {
    const { lines, splitter: s } = splitter(4);
    s.write('abcd\nabcde');
    s.flush();
    expect(lines).toEqual(['abcd', 'abcd' + lineCutMarker]);
  });
});
