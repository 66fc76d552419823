import { describe, it, expect } from 'vitest';
import { History } from '../src/history';

describe('History', () => {
  it('undoes and redoes in order', () => {
    const h = new History<number>(0);
    h.push(1); h.push(2); h.push(3);
    expect(h.undo()).toBe(2);
    expect(h.undo()).toBe(1);
    expect(h.state).toBe(1);
    expect(h.canRedo).toBe(true);
    expect(h.redo()).toBe(2);
    expect(h.state).toBe(2);
  });
  it('drops the redo branch on a new edit', () => {
    const h = new History<string>('a');
    h.push('b'); h.undo(); h.push('c');
    expect(h.canRedo).toBe(false);
    expect(h.redo()).toBeUndefined();
    expect(h.undo()).toBe('a');
    expect(h.undo()).toBeUndefined();
    expect(h.state).toBe('a');
  });
  it('keeps at most limit steps and resets', () => {
    const h = new History<number>(0, 3);
    for (let i = 1; i <= 10; i++) h.push(i);
    let n = 0;
    while (h.undo() !== undefined) n++;
    expect(n).toBe(3);
    expect(h.state).toBe(7);
    h.reset(42);
    expect(h.canUndo).toBe(false);
    expect(h.state).toBe(42);
  });
});
