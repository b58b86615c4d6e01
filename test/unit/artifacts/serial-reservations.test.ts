// The stand-in for node-tar's path reservations: entries run one at a time, in order, and nothing is kept.
import { describe, expect, it } from 'vitest';
import { SerialReservations } from '../../../src/artifacts/serial-reservations.js';

describe('SerialReservations', () => {
  it('runs the first handler at once and each later one only after the one before cleared', () => {
    const reservations = new SerialReservations();
    const events: string[] = [];
    const clears: (() => void)[] = [];
    const handler = (name: string) => (clear: () => void) => {
      events.push(`start ${name}`);
      clears.push(() => {
        events.push(`end ${name}`);
        clear();
      });
    };
    expect(reservations.reserve(['a'], handler('a'))).toBe(true);
    expect(reservations.reserve(['b'], handler('b'))).toBe(false);
    expect(reservations.reserve(['c'], handler('c'))).toBe(false);
    expect(events).toEqual(['start a']);
    clears[0]!();
    expect(events).toEqual(['start a', 'end a', 'start b']);
    clears[1]!();
    clears[2]!();
    expect(events).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('starts one next entry only, even when a handler clears twice', () => {
    const reservations = new SerialReservations();
    let clearFirst: () => void = () => undefined;
    const started: string[] = [];
    reservations.reserve([], (clear) => {
      started.push('a');
      clearFirst = clear;
    });
    reservations.reserve([], () => started.push('b'));
    reservations.reserve([], () => started.push('c'));
    clearFirst();
    clearFirst();
    expect(started).toEqual(['a', 'b']);
  });

  it('runs handlers that clear at once straight through', () => {
    const reservations = new SerialReservations();
    const ran: number[] = [];
    for (let i = 0; i < 5; i += 1) reservations.reserve([], (clear) => (ran.push(i), clear()));
    expect(ran).toEqual([0, 1, 2, 3, 4]);
  });
});
