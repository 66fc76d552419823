import { describe, it, expect, afterEach } from 'vitest';
import { strings, setLang } from '../src/i18n';
import { ApiError } from '../src/api';
import { GeometryError, geometryErrorCodes, validate, joinFromDraw } from '../src/geom';
import { errorText, geometryReason, serverErrorCodes } from '../src/errors';

const sq = (x: number, y: number, s: number): [number, number][] => [[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]];
function thrown(fn: () => unknown): GeometryError {
  try { fn(); } catch (e) { if (e instanceof GeometryError) return e; throw e; }
  throw new Error('no GeometryError');
}

describe('errors in both languages', () => {
  afterEach(() => setLang('zh'));
  it('has a key for every geometry and server error code', () => {
    for (const c of geometryErrorCodes) for (const l of ['zh', 'en'] as const) expect(strings[l]['geom.' + c], `${l} geom.${c}`).toBeTruthy();
    for (const c of [...serverErrorCodes, 'network']) for (const l of ['zh', 'en'] as const) expect(strings[l]['err.' + c], `${l} err.${c}`).toBeTruthy();
  });
  it('explains a refused shape in Chinese and in English', () => {
    const overlap = thrown(() => validate({ type: 'MultiPolygon', coordinates: [[sq(0, 0, 2)], [sq(1, 1, 2)]] }));
    setLang('zh');
    expect(geometryReason(overlap)).toBe('第 1 和第 2 部分重叠：请合并为一个多边形或把它们分开');
    setLang('en');
    expect(geometryReason(overlap)).toBe(overlap.message);
    const bow = thrown(() => validate({ type: 'Polygon', coordinates: [sq(0, 0, 4), [[1, 1], [1, 2], [2, 1], [2, 2], [1, 1]]] }));
    expect(bow.code).toBe('self_intersection');
    expect(geometryReason(bow)).toBe(bow.message);
    setLang('zh');
    expect(geometryReason(bow)).toMatch(/^第 1 部分的第 1 个洞自相交（第 2 和第 4 条边）/);
    const hole = thrown(() => joinFromDraw([{ geometry: { coordinates: [sq(0, 0, 1)] } }, { geometry: { coordinates: [sq(5, 5, 1)] }, properties: { rzRole: 'hole' } }]));
    expect(errorText(hole)).toMatch(/洞不在任何部分之内/);
  });
  it('translates a server error code and keeps the detail', () => {
    const e = new ApiError(403, 'the approver ran the engine: a second person must approve', { error: { code: 'forbidden', message: 'x' } });
    setLang('zh');
    expect(errorText(e)).toBe('无权执行此操作：the approver ran the engine: a second person must approve');
    setLang('en');
    expect(errorText(e)).toBe('Not allowed: the approver ran the engine: a second person must approve');
    expect(errorText(new ApiError(502, '502 Bad Gateway', 'oops'))).toBe('Error 502: 502 Bad Gateway');
    expect(errorText(new TypeError('Failed to fetch'))).toBe('The server cannot be reached');
  });
});
