// The expert app as the stories drive it: sign-in, waiting for the map and
// for messages, the language switch, screenshots, and the map queries the
// stories share (window.rzApp, window.rzZones: the app's test hooks).
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PASSWORD } from './api.mjs';

export function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
}

// countRings counts the parts and holes of a (multi)polygon.
export const countRings = (g) => {
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  return { parts: polys.length, holes: polys.reduce((s, p) => s + p.length - 1, 0) };
};

export class App {
  constructor(page, base, testInfo, shotsDir) {
    this.page = page;
    this.base = base;
    this.testInfo = testInfo;
    const slug = testInfo.title.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40).toLowerCase();
    this.dir = join(shotsDir, basename(testInfo.file).replace(/\.spec\.mjs$/, ''), slug);
    this.n = 0;
    this.notes = [];
    this.metrics = {};
  }

  // shot saves a screenshot of the page and attaches it to the test.
  async shot(name) {
    mkdirSync(this.dir, { recursive: true });
    const file = join(this.dir, `${String(++this.n).padStart(2, '0')}-${name}.png`);
    await this.page.screenshot({ path: file });
    await this.testInfo.attach(name, { path: file, contentType: 'image/png' });
  }

  text(sel) { return this.page.locator(sel).first().innerText(); }

  // idle waits for the map to have drawn what it has.
  async idle() {
    await this.page.evaluate(() => new Promise((res) => {
      const m = window.rzApp.map;
      if (m.loaded() && !m.isMoving()) { m.once('idle', res); m.triggerRepaint(); } else m.once('idle', res);
    }));
  }

  // login signs user in through the form (signing out whoever is in) and
  // waits for the app to be ready.
  async login(user, query = '') {
    const page = this.page;
    await page.goto(this.base + '/app/' + query, { waitUntil: 'load' });
    // The app shows the form or, with a session, the map (after asking
    // /api/v1/auth/me): wait for one of them.
    await page.waitForFunction(() => !!document.querySelector('#loginForm') || document.body.dataset.ready === 'true');
    const form = page.locator('#loginForm');
    if (!(await form.isVisible().catch(() => false))) {
      await page.getByRole('button', { name: /退出|Sign out/ }).click();
      await page.waitForSelector('#loginForm');
    }
    await page.fill('#loginForm input[name=username]', user);
    await page.fill('#loginForm input[name=password]', PASSWORD);
    await page.click('#loginForm button[type=submit]');
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60000 });
    check((await this.text('[data-testid=who]')).includes(user), 'signed in as ' + user);
  }

  // waitMsg waits for the app's message to match re (and be of kind).
  async waitMsg(re, kind) {
    const page = this.page;
    try {
      await page.waitForFunction(([src, k]) => {
        const el = document.querySelector('[data-testid=msg]');
        return !!el && new RegExp(src).test(el.textContent ?? '') && (!k || el.classList.contains(k));
      }, [re.source, kind ?? '']);
    } catch (err) {
      const now = await page.evaluate(() => {
        const el = document.querySelector('[data-testid=msg]');
        return el ? { text: el.textContent, class: el.className } : null;
      });
      throw new Error(`no message ${re}${kind ? ' (' + kind + ')' : ''}; the message is ${JSON.stringify(now)}: ${err.message}`);
    }
  }

  // switchLang clicks the language button and waits for the other language.
  async switchLang(to) {
    await this.page.click('#lang');
    await this.page.waitForFunction((l) => document.documentElement.lang === (l === 'zh' ? 'zh-CN' : 'en'), to);
  }

  // openZone selects zone id in the zone panel and waits for it.
  async openZone(id) {
    await this.page.click('[data-tab=zone]');
    await this.page.click(`[data-zone="${id}"]`);
    await this.page.waitForFunction((z) => window.rzApp.S.zone?.id === z && !!window.rzApp.S.versions, id);
  }

  // proposalIndex: where proposal id is in the list.
  proposalIndex(id) {
    return this.page.evaluate((id) => window.rzApp.S.proposals.findIndex((p) => p.id === id), id);
  }

  // newestUncovered picks, among the newest run's open proposals with at
  // least minBuildings buildings that no active zone covers, the one with
  // the most buildings; -1 if none.
  newestUncovered(minBuildings, needBarriers, onePart = false) {
    return this.page.evaluate(([min, barriers, onePart]) => {
      const taken = new Set();
      const units = new Set();
      for (const f of window.rzZones.features) {
        for (const b of f.properties.building_ids) taken.add(b);
        for (const u of f.properties.unit_ids || []) units.add(u);
      }
      const ps = window.rzApp.S.proposals;
      const newest = Math.max(...ps.map((p) => p.run_id));
      let best = -1;
      ps.forEach((p, i) => {
        if (p.run_id === newest && p.buildings >= min && (best < 0 || p.buildings > ps[best].buildings) &&
          (!barriers || (p.boundary_barriers || []).length > 0) &&
          (!onePart || p.geometry?.type === 'Polygon' || (p.geometry?.type === 'MultiPolygon' && p.geometry.coordinates.length === 1)) &&
          !(p.building_ids || []).some((b) => taken.has(b)) && !(p.unit_ids || []).some((u) => units.has(u))) best = i;
      });
      return best;
    }, [minBuildings, needBarriers, onePart]);
  }

  outsideBuildings() { return this.buildingsOnScreen(false); }

  // buildingsOnScreen: buildings outside (member false) or inside (member
  // true) what is being edited, drawn where a click hits them: [{id, x, y}]
  // nearest to the centre first.
  buildingsOnScreen(member) {
    return this.page.evaluate((member) => {
      const m = window.rzApp.map;
      const members = window.rzApp.S.target.buildingIDs;
      const canvas = m.getCanvas().getBoundingClientRect();
      const found = [];
      for (const f of m.queryRenderedFeatures({ layers: ['buildings'] })) {
        if (f.id === undefined || members.has(Number(f.id)) !== member || found.some((b) => b.id === Number(f.id))) continue;
        const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
        let x = 0, y = 0;
        for (const c of ring.slice(0, -1)) { const p = m.project(c); x += p.x; y += p.y; }
        x /= ring.length - 1; y /= ring.length - 1;
        if (x < 40 || y < 40 || x > canvas.width - 80 || y > canvas.height - 40) continue;
        const hit = m.queryRenderedFeatures([x, y], { layers: ['buildings', 'rz-delta-fill'] });
        if (hit.length !== 1 || hit[0].id !== f.id) continue;
        found.push({ id: Number(f.id), x: x + canvas.left, y: y + canvas.top, d: Math.hypot(x - canvas.width / 2, y - canvas.height / 2) });
      }
      return found.sort((a, b) => a.d - b.d);
    }, member);
  }

  // zoomToZone centres the map on the first corner of what is edited (or
  // the selected zone) at zoom.
  async zoomToZone(zoom) {
    await this.page.evaluate((z) => {
      const m = window.rzApp.map;
      const g = window.rzApp.S.target?.geometry ?? window.rzApp.S.zone.current.geometry;
      const ring = g.type === 'Polygon' ? g.coordinates[0] : g.coordinates[0][0];
      m.jumpTo({ center: ring[0], zoom: z });
    }, zoom);
    await this.idle();
  }

  // pending waits for the editor's pending count to match re.
  pending(re) {
    return this.page.waitForFunction((src) => new RegExp(src).test(document.querySelector('[data-testid=pending]')?.textContent ?? ''), re.source);
  }
}
