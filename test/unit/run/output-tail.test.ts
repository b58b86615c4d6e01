// OutputTail: the bounded last output kept for failure messages and state.json.
import { describe, expect, it } from 'vitest';
import { OutputTail } from '../../../src/run/output-tail.js';

describe('OutputTail', () => {
  it('keeps all lines while they fit', () => {
    const tail = new OutputTail(100);
    tail.push('one');
    tail.push('');
    tail.push('three');
    expect(tail.text()).toBe('one\n\nthree');
  });

  it('is empty without output', () => {
    expect(new OutputTail(100).text()).toBe('');
  });

  it('keeps the last characters and marks a line cut at the front', () => {
    const tail = new OutputTail(10);
    tail.push('aaaaaaaa');
    tail.push('bbbb');
    tail.push('cc');
    // "aaaaaaaa\nbbbb\ncc" → last 10 characters "aa\nbbbb\ncc", whose first line is a fragment.
    expect(tail.text()).toBe('…a\nbbbb\ncc');
  });

  it('adds no marker when the cut falls on a line boundary', () => {
    const tail = new OutputTail(7);
    tail.push('aaaa');
    tail.push('bbb');
    tail.push('ccc');
    expect(tail.text()).toBe('bbb\nccc');
  });

  it('stays bounded and quick under a flood of lines', () => {
    const tail = new OutputTail(1000);
    for (let i = 0; i < 200_000; i += 1) tail.push(i % 2 === 0 ? '' : `line ${i}`);
    const text = tail.text();
    expect(text.length).toBeLessThanOrEqual(1000);
    expect(text.endsWith('\nline 199999')).toBe(true);
  });
});
