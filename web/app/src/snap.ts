// Snapping in screen space: a dragged or drawn corner goes to the nearest
// building corner, else to the nearest point of a barrier line, when one is
// within the tolerance (pixels).
export type Pt = [number, number];

export interface SnapResult { point: Pt; kind: 'vertex' | 'line'; distance: number }

export function dist(a: Pt, b: Pt): number { return Math.hypot(a[0] - b[0], a[1] - b[1]); }

/** closestOnSegment is the point of segment ab nearest to p. */
export function closestOnSegment(p: Pt, a: Pt, b: Pt): Pt {
  const dx = b[0] - a[0], dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  if (len2 === 0) return a;
  const t = Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2));
  return [a[0] + t * dx, a[1] + t * dy];
}

/** snap picks the target for cursor p: vertices win over lines (a corner is
 * what the expert aims at), each only within tol pixels. */
export function snap(p: Pt, vertices: Pt[], lines: Pt[][], tol: number): SnapResult | null {
  let best: SnapResult | null = null;
  for (const v of vertices) {
    const d = dist(p, v);
    if (d <= tol && (!best || d < best.distance)) best = { point: v, kind: 'vertex', distance: d };
  }
  if (best) return best;
  for (const line of lines) {
    for (let i = 0; i + 1 < line.length; i++) {
      const q = closestOnSegment(p, line[i], line[i + 1]);
      const d = dist(p, q);
      if (d <= tol && (!best || d < best.distance)) best = { point: q, kind: 'line', distance: d };
    }
  }
  return best;
}
