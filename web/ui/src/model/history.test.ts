import { describe, expect, it } from 'vitest';
import { canRedo, canUndo, initHistory, push, redo, replace, undo } from './history';

describe('history', () => {
  it('undoes and redoes', () => {
    let h = initHistory(1);
    h = push(h, 2);
    h = push(h, 3);
    expect(canUndo(h)).toBe(true);
    h = undo(h);
    expect(h.present).toBe(2);
    h = undo(h);
    expect(h.present).toBe(1);
    expect(canUndo(h)).toBe(false);
    expect(undo(h)).toBe(h);
    h = redo(h);
    expect(h.present).toBe(2);
    expect(canRedo(h)).toBe(true);
  });
  it('a new edit clears the redo stack', () => {
    let h = push(push(initHistory('a'), 'b'), 'c');
    h = undo(h);
    h = push(h, 'd');
    expect(canRedo(h)).toBe(false);
    expect(h.past).toEqual(['a', 'b']);
  });
  it('coalesces rapid edits with the same key', () => {
    let h = initHistory('');
    h = push(h, 'a', { key: 'f', now: 0 });
    h = push(h, 'ab', { key: 'f', now: 100 });
    h = push(h, 'abc', { key: 'f', now: 200 });
    expect(h.past).toEqual(['']);
    h = push(h, 'abcd', { key: 'g', now: 300 });
    h = push(h, 'abcde', { key: 'g', now: 5000 });
    expect(h.past).toEqual(['', 'abc', 'abcd']);
  });
  it('ignores a push of the same value and replace adds no step', () => {
    const h = initHistory({ a: 1 });
    expect(push(h, h.present)).toBe(h);
    const r = replace(push(h, { a: 2 }), { a: 3 });
    expect(r.past).toHaveLength(1);
    expect(r.present).toEqual({ a: 3 });
    expect(replace(r, { a: 4 }, true).past).toHaveLength(0);
  });
});
