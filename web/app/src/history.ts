// An undo/redo stack of immutable editor states.
export class History<T> {
  private past: T[] = [];
  private future: T[] = [];
  constructor(private current: T, private limit = 200) {}

  get state(): T { return this.current; }
  get canUndo(): boolean { return this.past.length > 0; }
  get canRedo(): boolean { return this.future.length > 0; }

  /** push makes next the current state; the redo branch is dropped. */
  push(next: T): void {
    this.past.push(this.current);
    if (this.past.length > this.limit) this.past.shift();
    this.current = next;
    this.future = [];
  }

  undo(): T | undefined {
    const prev = this.past.pop();
    if (prev === undefined) return undefined;
    this.future.push(this.current);
    this.current = prev;
    return prev;
  }

  redo(): T | undefined {
    const next = this.future.pop();
    if (next === undefined) return undefined;
    this.past.push(this.current);
    this.current = next;
    return next;
  }

  /** reset forgets the history (after a save or a reload). */
  reset(state: T): void {
    this.past = [];
    this.future = [];
    this.current = state;
  }
}
