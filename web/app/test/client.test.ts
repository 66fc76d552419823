// The typed API client against a fetch stub: the method, path, headers and
// body each function sends, and errors typed from the server's error JSON.
import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest';
import * as api from '../src/client';
import { ApiError, setCSRF } from '../src/api';

interface Sent { method: string; url: string; headers: Record<string, string>; body: unknown }

let sent: Sent[] = [];
function stub(status: number, body: unknown, statusText = '') {
  sent = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    sent.push({ method: String(init.method), url, headers: init.headers as Record<string, string>, body: init.body === undefined ? undefined : JSON.parse(String(init.body)) });
    const text = typeof body === 'string' ? body : body === null ? '' : JSON.stringify(body);
    return new Response(text === '' ? null : text, { status, statusText });
  });
}

describe('api client', () => {
  beforeEach(() => setCSRF(''));
  afterEach(() => vi.unstubAllGlobals());

  it('reads with GET and no CSRF token, parameters in the query', async () => {
    setCSRF('tok');
    stub(200, { type: 'FeatureCollection', features: [] });
    const fc = await api.app.search(7, '城建花园 73&x');
    expect(fc.features).toEqual([]);
    expect(sent).toHaveLength(1);
    expect(sent[0].method).toBe('GET');
    expect(sent[0].url).toBe('/api/v1/app/search?county=7&q=' + encodeURIComponent('城建花园 73&x'));
    expect(sent[0].headers['X-CSRF-Token']).toBeUndefined();
    expect(sent[0].body).toBeUndefined();
  });

  it('lists zones in force, by status, or as of an instant', async () => {
    stub(200, { type: 'FeatureCollection', features: [] });
    await api.zones.list({ county: 3 });
    await api.zones.list({ county: 3, status: 'all' });
    await api.zones.list({ county: 3, status: 'all', at: '2022-11-25T00:00:00.000Z' });
    expect(sent.map((s) => s.url)).toEqual(['/api/v1/zones?county=3', '/api/v1/zones?county=3&status=all',
      '/api/v1/zones?county=3&at=2022-11-25T00%3A00%3A00.000Z']);
  });

  it('writes JSON with the session CSRF token', async () => {
    setCSRF('tok');
    stub(200, { id: 5, current_version: 3 });
    const z = await api.zones.editMembers(5, { version: 2, reason: 'r', add_buildings: [9] });
    expect(z.current_version).toBe(3);
    expect(sent[0]).toMatchObject({ method: 'PATCH', url: '/api/v1/zones/5/members', body: { version: 2, reason: 'r', add_buildings: [9] } });
    expect(sent[0].headers['X-CSRF-Token']).toBe('tok');
    expect(sent[0].headers['Content-Type']).toBe('application/json');
  });

  it('sends each decision to its route', async () => {
    stub(200, { proposals: [{ id: 11 }], superseded: 10 });
    const step = await api.proposals.step(10, 'enlarge', 'wider');
    expect(step.proposals?.[0].id).toBe(11);
    await api.proposals.reject(10, 'no zone needed');
    await api.zones.lift(4, { reason: 'clean', version: 2 });
    await api.notices.publish({ county_id: 1 });
    expect(sent.map((s) => `${s.method} ${s.url} ${JSON.stringify(s.body)}`)).toEqual([
      'POST /api/v1/proposals/10/enlarge {"reason":"wider"}',
      'POST /api/v1/proposals/10/reject {"reason":"no zone needed"}',
      'POST /api/v1/zones/4/lift {"reason":"clean","version":2}',
      'POST /api/v1/notices {"county_id":1}',
    ]);
  });

  it('types the server error body: code, message, conflict', async () => {
    stub(409, { error: { code: 'conflict', message: 'zone 5 changed' }, zone_id: 5, current_version: 4, status: 'active', etag: '"z5-v4"' });
    const e = await api.zones.replaceGeometry(5, { version: 3, geometry: { type: 'Polygon', coordinates: [] }, reason: 'r' }).catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(409);
    expect(e.code).toBe('conflict');
    expect(e.message).toBe('zone 5 changed');
    expect(e.conflict).toMatchObject({ zone_id: 5, current_version: 4, status: 'active' });
  });

  it('has no conflict for another 409 or error, and keeps a non-JSON body as text', async () => {
    stub(409, { error: { code: 'conflict', message: 'the proposal is decided' } });
    const decided = await api.proposals.step(1, 'shrink', '').catch((x) => x);
    expect(decided.code).toBe('conflict');
    expect(decided.conflict).toBeNull();
    stub(400, { error: { code: 'invalid', message: 'bad version' }, current_version: 4 });
    expect((await api.zones.get(5).catch((x) => x)).conflict).toBeNull();
    stub(502, '<html>bad gateway</html>', 'Bad Gateway');
    const gw = await api.auth.me().catch((x) => x);
    expect(gw).toBeInstanceOf(ApiError);
    expect(gw.status).toBe(502);
    expect(gw.code).toBe('');
    expect(gw.body).toBe('<html>bad gateway</html>');
    expect(gw.message).toBe('502 Bad Gateway');
    expect(gw.conflict).toBeNull();
  });

  it('answers null for an empty body', async () => {
    stub(204, null);
    expect(await api.auth.logout()).toBeNull();
  });
});
