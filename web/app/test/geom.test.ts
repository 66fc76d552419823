import { describe, it, expect } from 'vitest';
import { round6, splitForDraw, joinFromDraw, GeometryError, signedArea, selfIntersection, validate, type MultiPolygon, type Polygon } from '../src/geom';

const sq = (x: number, y: number, s: number): [number, number][] => [[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]];

describe('round6', () => {
  it('rounds to 6 decimals', () => {
    expect(round6(116.1234564999)).toBe(116.123456);
    expect(round6(116.1234565001)).toBe(116.123457);
    expect(round6(-0.0000001)).toBe(0);
    expect(Object.is(round6(-0.0000001), -0)).toBe(false);
  });
});

describe('split and join', () => {
  const mp: MultiPolygon = {
    type: 'MultiPolygon',
    coordinates: [
      [sq(0, 0, 10), sq(2, 2, 2).reverse()], // part with a hole
      [sq(20, 0, 5)],
    ],
  };
  it('splits a multipolygon with a hole into one feature per ring', () => {
    const parts = splitForDraw(mp);
    expect(parts).toHaveLength(3);
    expect(parts.map((p) => p.properties.rzRole)).toEqual(['outer', 'hole', 'outer']);
    expect(parts.map((p) => p.properties.rzPart)).toEqual([0, 0, 1]);
    for (const p of parts) expect(p.geometry.coordinates).toHaveLength(1);
  });
  it('joins them back into the same multipolygon, CCW outside and CW holes', () => {
    const g = joinFromDraw(splitForDraw(mp)) as MultiPolygon;
    expect(g.type).toBe('MultiPolygon');
    expect(g.coordinates).toHaveLength(2);
    expect(g.coordinates[0]).toHaveLength(2);
    expect(signedArea(g.coordinates[0][0])).toBeGreaterThan(0);
    expect(signedArea(g.coordinates[0][1])).toBeLessThan(0);
    expect(g.coordinates[1]).toHaveLength(1);
  });
  it('puts a hole into the part that contains it, whatever its tag', () => {
    const parts = splitForDraw(mp);
    parts[1].properties.rzPart = 1; // stale tag
    parts[1].geometry.coordinates = [sq(21, 1, 1)]; // moved into part 2
    const g = joinFromDraw(parts) as MultiPolygon;
    expect(g.coordinates[0]).toHaveLength(1);
    expect(g.coordinates[1]).toHaveLength(2);
  });
  it('gives a Polygon for one part and rounds the coordinates', () => {
    const g = joinFromDraw([{ geometry: { coordinates: [[[0.12345678, 0], [1, 0], [1, 1], [0.12345678, 0]]] }, properties: { rzRole: 'outer' } }]) as Polygon;
    expect(g.type).toBe('Polygon');
    expect(g.coordinates[0][0]).toEqual([0.123457, 0]);
    expect(g.coordinates[0][g.coordinates[0].length - 1]).toEqual([0.123457, 0]);
  });
  it('refuses a hole outside every part', () => {
    const parts = splitForDraw(mp);
    parts[1].geometry.coordinates = [sq(50, 50, 1)];
    expect(() => joinFromDraw(parts)).toThrowError(/outside every part/);
  });
  it('refuses an empty zone', () => {
    expect(() => joinFromDraw([])).toThrow(GeometryError);
  });
});

describe('validate', () => {
  it('finds a bow tie', () => {
    const bow: [number, number][] = [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]];
    expect(selfIntersection(bow)).not.toBeNull();
    expect(() => validate({ type: 'Polygon', coordinates: [bow] })).toThrowError(/crosses itself/);
  });
  it('leaves a ring touching itself at a point to the server', () => {
    // A vertex on another edge (a pinch): not a crossing.
    const pinch: [number, number][] = [[0, 0], [4, 0], [4, 4], [2, 0], [0, 4], [0, 0]];
    expect(selfIntersection(pinch)).toBeNull();
  });
  it('accepts a square and parts touching at a corner', () => {
    expect(selfIntersection(sq(0, 0, 1))).toBeNull();
    expect(() => validate({ type: 'MultiPolygon', coordinates: [[sq(0, 0, 1)], [sq(1, 1, 1)]] })).not.toThrow();
  });
  it('refuses overlapping parts and coordinates out of range', () => {
    expect(() => validate({ type: 'MultiPolygon', coordinates: [[sq(0, 0, 2)], [sq(1, 1, 2)]] })).toThrowError(/overlap/);
    expect(() => validate({ type: 'Polygon', coordinates: [sq(179.5, 0, 1)] })).toThrowError(/out of range/);
  });
});
