// The fixtures every story shares (web/e2e/stories/*.spec.mjs):
//
//   server     a fresh copy of a seeded database with `riskzone serve` on
//              it, per test, from the fixture endpoint of
//              server/app_browser_fixtures_test.go ($RZ_FIXTURES): no
//              story sees what another one did. The state (the option
//              state): 'demo', the demo city and story with the users
//              expert, expert2, publisher (password riskzone-demo); 'run',
//              that after expert ran the proposal engine once;
//   page       the browser page on that server, guarded: a page error, a
//              CSP violation or a request to another origin fails the test
//              (the guard is attached to the test for the Go test to check
//              and log, with answers >= 400 and console errors);
//   app        the app helper (lib/app.mjs): login(user), shots, waits;
//   signedIn   app with a user signed in: test.use({ user: 'expert2' });
//   zone       a zone accepted by expert2 from a proposal of expert's
//              run (lib/seed.mjs; needs the state 'run'), before the page
//              opens; bigZone one of at least two buildings.
import { test as base, expect } from '@playwright/test';
import { canvasPixels } from './browser.mjs';
import { App } from './lib/app.mjs';
import { acceptedZone } from './lib/seed.mjs';

export { expect };
export { check, countRings } from './lib/app.mjs';

const shotsDir = process.env.RZ_SHOTS || new URL('../../.data/screenshots/app', import.meta.url).pathname;

export const test = base.extend({
  user: ['expert', { option: true }],
  state: ['demo', { option: true }],

  server: async ({ state }, use, testInfo) => {
    const fx = process.env.RZ_FIXTURES;
    if (!fx) throw new Error('RZ_FIXTURES is not set: the stories run from go test -run TestExpertAppInBrowser ./server');
    const res = await fetch(fx + '/stories', { method: 'POST', body: JSON.stringify({ story: testInfo.titlePath.join(' › '), state }) });
    if (!res.ok) throw new Error(`the fixture endpoint gave no server: ${res.status} ${await res.text()}`);
    const { base: url } = await res.json();
    await use(url);
    const failed = testInfo.status !== testInfo.expectedStatus ? 1 : 0;
    await fetch(`${fx}/stories?base=${encodeURIComponent(url)}&failed=${failed}`, { method: 'DELETE' });
  },

  baseURL: async ({ server }, use) => { await use(server); },

  context: async ({ context, server }, use, testInfo) => {
    const origin = new URL(server).origin;
    const guard = { pageErrors: [], csp: [], foreign: [], http: [], console: [], notes: [] };
    const pending = [];
    context.rzGuard = { guard, pending };
    // A CSP violation also reaches the console (the story fails on it),
    // with what was blocked; the browser's own report is not always an
    // error line.
    await context.addInitScript({ content: `document.addEventListener('securitypolicyviolation', (e) =>
      console.error('CSP violation: refused to load ' + e.blockedURI + ' (' + e.violatedDirective + ')'));
      window.rzCanvasPixels = ${canvasPixels.toString()};` });
    // Every request of the context (pages and their workers) must go to
    // the story's server: nothing from a CDN or anywhere else at run time.
    context.on('request', (r) => {
      const u = r.url();
      if (/^(data|blob):/.test(u)) return;
      if (new URL(u).origin !== origin) guard.foreign.push(u);
    });
    // Answers >= 400 by method and path (no query, no body), for the log.
    context.on('response', (r) => {
      if (r.status() >= 400) guard.http.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
    });
    await use(context);
    await Promise.allSettled(pending);
    await testInfo.attach('guard', { body: JSON.stringify(guard), contentType: 'application/json' });
    expect(guard.pageErrors, 'errors thrown in the page').toEqual([]);
    expect(guard.csp, 'CSP violations').toEqual([]);
    expect(guard.foreign, `requests to other origins than ${origin}`).toEqual([]);
  },

  page: async ({ page, context }, use) => {
    const { guard, pending } = context.rzGuard;
    page.setDefaultTimeout(60000);
    page.on('pageerror', (e) => guard.pageErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      const line = m.text();
      if (/Content Security Policy|CSP violation|Refused to/i.test(line)) { guard.csp.push(line); return; }
      // An Error logged as an object reads as its first word: take its message.
      const arg = m.args()[0];
      pending.push((arg ? arg.evaluate((a) => (a instanceof Error ? `${a.name}: ${a.message}` : String(a))).catch(() => line) : Promise.resolve(line))
        .then((s) => guard.console.push(s)));
    });
    await use(page);
  },

  app: async ({ page, server, context }, use, testInfo) => {
    const app = new App(page, server, testInfo, shotsDir);
    await use(app);
    context.rzGuard.guard.notes.push(...app.notes);
    if (Object.keys(app.metrics).length) {
      await testInfo.attach('metrics', { body: JSON.stringify(app.metrics), contentType: 'application/json' });
    }
  },

  signedIn: async ({ app, user }, use) => {
    await app.login(user);
    await use(app);
  },

  zone: async ({ server }, use) => { await use(await acceptedZone(server)); },
  bigZone: async ({ server }, use) => { await use(await acceptedZone(server, { minBuildings: 2 })); },
});
