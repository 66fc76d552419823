// An API client for seeding a story's state as one user: a request context
// of its own (its session cookie) and the session's CSRF token on writes.
import { request } from '@playwright/test';

export const PASSWORD = 'riskzone-demo';

export async function signIn(base, username) {
  const ctx = await request.newContext({ baseURL: base });
  const res = await ctx.post('/api/v1/auth/login', { data: { username, password: PASSWORD } });
  if (!res.ok()) throw new Error(`sign in ${username} through the API: ${res.status()} ${await res.text()}`);
  const me = await res.json();
  const call = async (method, path, data) => {
    const r = await ctx.fetch(path, { method, data, headers: method === 'GET' ? {} : { 'X-CSRF-Token': me.csrf_token } });
    const text = await r.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch { body = text; }
    return { status: r.status(), body };
  };
  // ok: the answer's body, or an error naming the call.
  const ok = async (method, path, data) => {
    const r = await call(method, path, data);
    if (r.status >= 300) throw new Error(`${username}: ${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  return { username, me, call, ok, get: (p) => ok('GET', p), dispose: () => ctx.dispose() };
}
