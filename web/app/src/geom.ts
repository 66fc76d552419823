// Geometry of the zone editor: rounding, splitting a (multi)polygon into the
// hole-free polygons terra-draw can edit and joining them back, validation
// with explanations a person can act on.

export type Position = [number, number];
export type Ring = Position[];
export type PolygonCoords = Ring[];
export interface Polygon { type: 'Polygon'; coordinates: PolygonCoords }
export interface MultiPolygon { type: 'MultiPolygon'; coordinates: PolygonCoords[] }
export type Areal = Polygon | MultiPolygon;

/** A polygon as terra-draw holds it: one ring, with its role in the zone. */
export interface DrawPart {
  type: 'Feature';
  id?: string | number;
  geometry: { type: 'Polygon'; coordinates: [Ring] };
  properties: { mode: 'polygon'; rzRole: 'outer' | 'hole'; rzPart: number };
}

/** round6 rounds a coordinate to 6 decimals (about 0.1 m), as the API stores it. */
export function round6(x: number): number {
  const r = Math.round(x * 1e6) / 1e6;
  return Object.is(r, -0) ? 0 : r;
}

export function roundRing(ring: Ring): Ring {
  const out: Ring = [];
  for (const [x, y] of ring) {
    const p: Position = [round6(x), round6(y)];
    const last = out[out.length - 1];
    if (!last || last[0] !== p[0] || last[1] !== p[1]) out.push(p);
  }
  return out;
}

/** polygons lists the polygons of a Polygon or MultiPolygon. */
export function polygons(g: Areal): PolygonCoords[] {
  return g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
}

/** splitForDraw turns a zone geometry into terra-draw polygons: each outer
 * ring and each hole becomes its own feature, tagged with its part. */
export function splitForDraw(g: Areal): DrawPart[] {
  const out: DrawPart[] = [];
  polygons(g).forEach((poly, part) => {
    poly.forEach((ring, i) => {
      out.push({
        type: 'Feature',
        geometry: { type: 'Polygon', coordinates: [closeRing(roundRing(ring))] },
        properties: { mode: 'polygon', rzRole: i === 0 ? 'outer' : 'hole', rzPart: part },
      });
    });
  });
  return out;
}

/** joinFromDraw puts edited rings back together: every hole goes into the
 * outer ring that contains it (a drawn hole finds its part by position, not
 * by tag, so moving a hole to another part works). Rings are rounded,
 * closed, outer rings counter-clockwise and holes clockwise (RFC 7946).
 * Throws GeometryError naming the problem. */
export function joinFromDraw(parts: { geometry: { coordinates: Ring[] }; properties?: { rzRole?: string } }[]): Areal {
  const outers: Ring[] = [];
  const holes: Ring[] = [];
  for (const f of parts) {
    const ring = closeRing(roundRing(f.geometry.coordinates[0]));
    if (f.properties?.rzRole === 'hole') holes.push(ring); else outers.push(ring);
  }
  if (outers.length === 0) throw new GeometryError('empty', 'the zone has no area: draw at least one polygon');
  const polys: PolygonCoords[] = outers.map((r) => [orient(r, true)]);
  for (const h of holes) {
    const at = polys.findIndex((p) => ringInside(h, p[0]));
    if (at < 0) throw new GeometryError('hole_outside', 'a hole lies outside every part of the zone: move it inside or delete it');
    polys[at].push(orient(h, false));
  }
  const g: Areal = polys.length === 1 ? { type: 'Polygon', coordinates: polys[0] } : { type: 'MultiPolygon', coordinates: polys };
  validate(g);
  return g;
}

/** The codes a GeometryError carries; the app shows each as the i18n key
 * geom.<code> (both languages), filled from the error's params. */
export const geometryErrorCodes = ['empty', 'hole_outside', 'too_few_points', 'out_of_range', 'self_intersection', 'no_area', 'parts_overlap'] as const;
export type GeometryErrorCode = (typeof geometryErrorCodes)[number];

/** GeometryError names a refused shape: a code, the numbers the message
 * needs (part and hole are 1-based; hole 0 is the part's outer ring) and an
 * English message. */
export class GeometryError extends Error {
  constructor(public code: GeometryErrorCode, message: string, public params: Record<string, number | string> = {}) { super(message); }
}

export function closeRing(r: Ring): Ring {
  if (r.length === 0) return r;
  const [a, b] = [r[0], r[r.length - 1]];
  return a[0] === b[0] && a[1] === b[1] ? r : [...r, [a[0], a[1]]];
}

/** signedArea is the shoelace area in degrees² (positive: counter-clockwise). */
export function signedArea(r: Ring): number {
  let s = 0;
  for (let i = 0; i + 1 < r.length; i++) s += r[i][0] * r[i + 1][1] - r[i + 1][0] * r[i][1];
  return s / 2;
}

export function orient(r: Ring, ccw: boolean): Ring {
  return (signedArea(r) > 0) === ccw ? r : [...r].reverse();
}

export function pointInRing(p: Position, r: Ring): boolean {
  let inside = false;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
    const [xi, yi] = r[i];
    const [xj, yj] = r[j];
    if ((yi > p[1]) !== (yj > p[1]) && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function ringInside(inner: Ring, outer: Ring): boolean {
  return inner.slice(0, -1).every((p) => pointInRing(p, outer));
}

function cross(o: Position, a: Position, b: Position): number {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

/** segmentsCross reports whether segments ab and cd intersect properly or
 * touch (shared endpoints of neighbouring segments are the caller's job). */
export function segmentsCross(a: Position, b: Position, c: Position, d: Position): boolean {
  const d1 = cross(c, d, a), d2 = cross(c, d, b), d3 = cross(a, b, c), d4 = cross(a, b, d);
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return true;
  const on = (p: Position, q: Position, r: Position) =>
    Math.min(p[0], q[0]) <= r[0] && r[0] <= Math.max(p[0], q[0]) && Math.min(p[1], q[1]) <= r[1] && r[1] <= Math.max(p[1], q[1]);
  return (d1 === 0 && on(c, d, a)) || (d2 === 0 && on(c, d, b)) || (d3 === 0 && on(a, b, c)) || (d4 === 0 && on(a, b, d));
}

/** selfIntersection finds two edges of a closed ring that cross each other.
 * Rings that only touch themselves at a point are left to the server, which
 * knows PostGIS's rules for them. */
export function selfIntersection(r: Ring): [number, number] | null {
  const n = r.length - 1;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (j === i + 1 || (i === 0 && j === n - 1)) continue; // neighbours share a vertex
      if (properCross(r[i], r[i + 1], r[j], r[j + 1])) return [i, j];
    }
  }
  return null;
}

/** validate refuses what the server would refuse, with an explanation. */
export function validate(g: Areal): void {
  const polys = polygons(g);
  polys.forEach((poly, pi) => {
    poly.forEach((ring, ri) => {
      const what = ri === 0 ? `part ${pi + 1}` : `hole ${ri} of part ${pi + 1}`;
      const at = { part: pi + 1, hole: ri };
      if (ring.length < 4) throw new GeometryError('too_few_points', `${what} has fewer than 3 corners`, at);
      for (const [x, y] of ring) {
        if (!(x >= -180 && x <= 180 && y >= -90 && y <= 90)) throw new GeometryError('out_of_range', `${what}: coordinate ${x},${y} is out of range`, { ...at, x, y });
      }
      const x = selfIntersection(ring);
      if (x) throw new GeometryError('self_intersection', `${what} crosses itself (edges ${x[0] + 1} and ${x[1] + 1}): move a corner so that the edges do not cross`, { ...at, a: x[0] + 1, b: x[1] + 1 });
      if (Math.abs(signedArea(ring)) < 1e-12) throw new GeometryError('no_area', `${what} has no area`, at);
    });
  });
  for (let i = 0; i < polys.length; i++) {
    for (let j = i + 1; j < polys.length; j++) {
      if (ringsOverlap(polys[i][0], polys[j][0])) {
        throw new GeometryError('parts_overlap', `parts ${i + 1} and ${j + 1} overlap: merge them into one polygon or move them apart`, { a: i + 1, b: j + 1 });
      }
    }
  }
}

/** properCross: the segments cross at a point inside both (touching is not crossing). */
export function properCross(a: Position, b: Position, c: Position, d: Position): boolean {
  const d1 = cross(c, d, a), d2 = cross(c, d, b), d3 = cross(a, b, c), d4 = cross(a, b, d);
  return ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0));
}

// Parts may touch at a point (PostGIS allows it) but not overlap.
function ringsOverlap(a: Ring, b: Ring): boolean {
  for (let i = 0; i + 1 < a.length; i++) {
    for (let j = 0; j + 1 < b.length; j++) if (properCross(a[i], a[i + 1], b[j], b[j + 1])) return true;
  }
  return a.slice(0, -1).every((p) => pointInRing(p, b)) || b.slice(0, -1).every((p) => pointInRing(p, a));
}

/** bbox of a geometry: [west, south, east, north]. */
export function bbox(g: Areal): [number, number, number, number] {
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  for (const poly of polygons(g)) for (const [x, y] of poly[0]) {
    w = Math.min(w, x); s = Math.min(s, y); e = Math.max(e, x); n = Math.max(n, y);
  }
  return [w, s, e, n];
}
