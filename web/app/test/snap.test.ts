import { describe, it, expect } from 'vitest';
import { snap, closestOnSegment } from '../src/snap';

describe('snapping', () => {
  it('projects onto a segment and clamps to its ends', () => {
    expect(closestOnSegment([5, 5], [0, 0], [10, 0])).toEqual([5, 0]);
    expect(closestOnSegment([-5, 3], [0, 0], [10, 0])).toEqual([0, 0]);
    expect(closestOnSegment([15, 3], [0, 0], [10, 0])).toEqual([10, 0]);
    expect(closestOnSegment([1, 1], [2, 2], [2, 2])).toEqual([2, 2]);
  });
  it('prefers the nearest corner within tolerance over a line', () => {
    const r = snap([100, 100], [[108, 100], [103, 104], [200, 200]], [[[0, 101], [300, 101]]], 10);
    expect(r).toEqual({ point: [103, 104], kind: 'vertex', distance: 5 });
  });
  it('falls back to the nearest line point, and to nothing beyond tolerance', () => {
    const r = snap([100, 100], [[150, 150]], [[[0, 106], [300, 106]], [[0, 97], [300, 97]]], 10);
    expect(r?.kind).toBe('line');
    expect(r?.point).toEqual([100, 97]);
    expect(snap([100, 100], [[150, 150]], [[[0, 120], [300, 120]]], 10)).toBeNull();
  });
});
