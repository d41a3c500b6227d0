// Undo/redo history of immutable values, with coalescing of rapid edits to
// the same thing (typing in one input is one undo step).

export interface History<T> {
  past: T[];
  present: T;
  future: T[];
  lastKey?: string;
  lastTime?: number;
}

export const HISTORY_LIMIT = 200;
export const COALESCE_MS = 1000;

export function initHistory<T>(present: T): History<T> {
  return { past: [], present, future: [] };
}

export interface PushOptions {
  // Edits with the same key within COALESCE_MS of each other are one step.
  key?: string;
  now?: number;
}

export function push<T>(h: History<T>, next: T, opts: PushOptions = {}): History<T> {
  if (next === h.present) return h;
  const now = opts.now ?? Date.now();
  if (opts.key && opts.key === h.lastKey && h.lastTime !== undefined && now - h.lastTime < COALESCE_MS) {
    return { ...h, present: next, future: [], lastTime: now };
  }
  const past = [...h.past, h.present];
  if (past.length > HISTORY_LIMIT) past.splice(0, past.length - HISTORY_LIMIT);
  return { past, present: next, future: [], lastKey: opts.key, lastTime: now };
}

// replace sets the present without an undo step (a load from the server).
export function replace<T>(h: History<T>, present: T, clear = false): History<T> {
  if (clear) return initHistory(present);
  return { ...h, present, lastKey: undefined, lastTime: undefined };
}

export function undo<T>(h: History<T>): History<T> {
  if (h.past.length === 0) return h;
  const prev = h.past[h.past.length - 1];
  return { past: h.past.slice(0, -1), present: prev, future: [h.present, ...h.future] };
}

export function redo<T>(h: History<T>): History<T> {
  if (h.future.length === 0) return h;
  const [next, ...rest] = h.future;
  return { past: [...h.past, h.present], present: next, future: rest };
}

export const canUndo = <T>(h: History<T>): boolean => h.past.length > 0;
export const canRedo = <T>(h: History<T>): boolean => h.future.length > 0;
