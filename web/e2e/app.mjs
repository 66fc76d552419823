// End to end of the expert app in Debian's headless Chromium, driven by
// playwright-core (never a downloaded browser):
//
//   node web/e2e/app.mjs BASE_URL SCREENSHOT_DIR
//
// against a server on a fresh demo database with the users expert, expert2
// and publisher (password riskzone-demo). The story: expert runs the
// engine; expert2 (the second person) accepts a proposal, adds a building
// by clicking it, undoes and redoes, saves, sees version 2 and its diff,
// drags a vertex, saves, meets a 409 conflict and re-applies, records a
// screening; publisher previews the notice (zh/en, CAP, Atom) and
// publishes; the zone is then on the public side. Screenshots of every step
// go to SCREENSHOT_DIR. Prints one JSON line (steps, timings, errors) and
// exits 1 on the first failure.
import { rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launch } from './browser.mjs';

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error('usage: node web/e2e/app.mjs BASE_URL SCREENSHOT_DIR');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const PASSWORD = 'riskzone-demo';
const out = { base, steps: [], errors: [], screenshots: [], metrics: {} };
const started = Date.now();
const { browser, profile } = await launch({ width: 1280, height: 800 });
const page = browser.pages()[0] ?? await browser.newPage();
page.setDefaultTimeout(60000);
page.on('pageerror', (e) => out.errors.push('pageerror: ' + String(e)));
page.on('console', (m) => { if (m.type() === 'error') out.errors.push('console: ' + m.text()); });

let n = 0;
async function shot(name) {
  const file = join(shots, `${String(++n).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  out.screenshots.push(file);
}
function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
}
async function step(name, fn) {
  const t0 = Date.now();
  await fn();
  out.steps.push({ name, ms: Date.now() - t0 });
}
const text = (sel) => page.locator(sel).first().innerText();
async function idle() {
  await page.evaluate(() => new Promise((res) => {
    const m = window.rzApp.map;
    if (m.loaded() && !m.isMoving()) { m.once('idle', res); m.triggerRepaint(); } else m.once('idle', res);
  }));
}
async function login(user) {
  await page.goto(base + '/app/', { waitUntil: 'load' });
  const form = page.locator('#loginForm');
  if (!(await form.isVisible().catch(() => false))) {
    await page.getByRole('button', { name: /退出|Sign out/ }).click();
    await page.waitForSelector('#loginForm');
  }
  await page.fill('#loginForm input[name=username]', user);
  await page.fill('#loginForm input[name=password]', PASSWORD);
  await page.click('#loginForm button[type=submit]');
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60000 });
  check((await text('[data-testid=who]')).includes(user), 'signed in as ' + user);
}
async function msg() { return page.locator('[data-testid=msg]').innerText().catch(() => ''); }
async function waitMsg(re) {
  await page.waitForFunction((src) => new RegExp(src).test(document.querySelector('[data-testid=msg]')?.textContent ?? ''), re.source);
}

// Buildings outside the edited zone, drawn on screen where a click hits
// them: [{id, x, y}] nearest to the centre first.
async function outsideBuildings() {
  return page.evaluate(() => {
    const m = window.rzApp.map;
    const members = window.rzApp.S.target.buildingIDs;
    const canvas = m.getCanvas().getBoundingClientRect();
    const found = [];
    for (const f of m.queryRenderedFeatures({ layers: ['buildings'] })) {
      if (f.id === undefined || members.has(Number(f.id)) || found.some((b) => b.id === Number(f.id))) continue;
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
  });
}
async function zoomToZone(zoom) {
  await page.evaluate((z) => {
    const m = window.rzApp.map;
    const g = window.rzApp.S.zone.current.geometry;
    const ring = g.type === 'Polygon' ? g.coordinates[0] : g.coordinates[0][0];
    m.jumpTo({ center: ring[0], zoom: z });
  }, zoom);
  await idle();
}

let zoneID = 0;
let zoneName = '';
try {
  await step('expert signs in; the map renders', async () => {
    const t0 = Date.now();
    await login('expert');
    out.metrics.loginToMapMs = Date.now() - t0;
    out.metrics.firstRenderMs = Math.round(await page.evaluate(() => window.rzApp.firstRender));
    out.metrics.mapLoadMs = Math.round(await page.evaluate(() => window.rzApp.mapLoadMs));
    out.metrics.navigation = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const res = performance.getEntriesByType('resource').filter((r) => /\/app\/assets\//.test(r.name));
      return { domContentLoadedMs: Math.round(nav.domContentLoadedEventEnd), loadMs: Math.round(nav.loadEventEnd),
        appAssetsTransferBytes: res.reduce((s, r) => s + (r.transferSize || 0), 0), appAssetsDecodedBytes: res.reduce((s, r) => s + (r.decodedBodySize || 0), 0) };
    });
    await idle();
    await shot('expert-map');
  });

  await step('expert runs the proposal engine', async () => {
    const before = await page.locator('[data-testid=proposal]').count();
    await page.click('[data-testid=run]');
    await page.waitForFunction(() => /\d/.test(document.querySelector('[data-testid=run-info]')?.textContent ?? '') &&
      !/…|……/.test(document.querySelector('[data-testid=run-info]')?.textContent ?? ''), null, { timeout: 120000 });
    const after = await page.locator('[data-testid=proposal]').count();
    out.metrics.proposalsBefore = before;
    out.metrics.proposalsAfter = after;
    check(after > 0, 'proposals listed after the run');
    check(/\d/.test(await page.locator('[data-testid=population]').first().innerText()), 'population shown');
    await shot('proposals');
  });

  await step('expert2 (second person) accepts the first proposal', async () => {
    await login('expert2');
    // The newest run's proposal with the most buildings that no active zone
    // already covers (a building is in one active zone at most).
    const idx = await page.evaluate(() => {
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
        if (p.run_id === newest && p.buildings >= 1 && (best < 0 || p.buildings > ps[best].buildings) &&
        !(p.building_ids || []).some((b) => taken.has(b)) && !(p.unit_ids || []).some((u) => units.has(u))) best = i;
      });
      return best;
    });
    check(idx >= 0, 'a proposal of the new run that no active zone covers');
    const card = page.locator('[data-testid=proposal]').nth(idx);
    await card.click();
    await page.waitForSelector('#decisionReason');
    await idle();
    const barriers = await page.evaluate(() => window.rzApp.map.querySourceFeatures('rz-barriers').length);
    out.metrics.boundaryBarriersShown = barriers;
    await shot('proposal-selected');
    await page.fill('#decisionReason', 'e2e: accepted after review');
    await page.click('[data-act=accept]');
    await waitMsg(/#\d+/);
    await page.waitForSelector('[data-testid=zone-title]');
    zoneID = await page.evaluate(() => window.rzApp.S.zone.id);
    zoneName = await page.evaluate(() => window.rzApp.S.zone.current.name);
    check(zoneID > 0, 'zone made');
    await idle();
    await shot('accepted-zone');
  });

  await step('expert2 adds a building by clicking it, undoes and redoes', async () => {
    await page.click('[data-testid=start-edit]');
    await page.waitForSelector('[data-testid=editor]');
    // Zoom in where buildings are drawn, next to the zone.
    await zoomToZone(17);
    const target = (await outsideBuildings())[0];
    check(target, 'a building outside the zone is on screen');
    out.metrics.clickedBuilding = target.id;
    await page.mouse.click(target.x, target.y);
    await page.waitForFunction(() => /\+1\b/.test(document.querySelector('[data-testid=pending]')?.textContent ?? ''));
    await idle();
    await shot('building-added');
    await page.keyboard.press('Control+z');
    await page.waitForFunction(() => /\+0\b/.test(document.querySelector('[data-testid=pending]')?.textContent ?? ''));
    await page.keyboard.press('Control+y');
    await page.waitForFunction(() => /\+1\b/.test(document.querySelector('[data-testid=pending]')?.textContent ?? ''));
  });

  await step('expert2 saves: version 2 and its diff', async () => {
    await page.fill('[data-testid=reason]', 'e2e: add the neighbouring building');
    await page.click('[data-testid=save]');
    await page.waitForSelector('[data-testid=diff]');
    const added = Number(await text('[data-testid=diff-added]'));
    check(added >= 1, 'diff shows an added building');
    check(await page.evaluate(() => window.rzApp.S.zone.current_version) === 2, 'zone at version 2');
    const versions = await page.locator('[data-testid=versions] li').count();
    check(versions >= 2, 'two versions listed');
    await idle();
    const green = await page.evaluate(() => window.rzApp.map.querySourceFeatures('rz-delta').filter((f) => f.properties.d === 'add').length);
    check(green >= 1, 'added building drawn green on the map');
    out.metrics.diffAdded = added;
    await shot('diff-v2');
  });

  await step('expert2 drags a vertex (snapping on), undoes, redoes, saves', async () => {
    await page.click('[data-tab=zone]');
    await page.click('[data-testid=start-edit]');
    await zoomToZone(17);
    await page.keyboard.press('v');
    await page.waitForFunction(() => window.rzApp.S.tool === 'vertex');
    await idle();
    const pt = await page.evaluate(() => {
      const d = window.rzApp.draw;
      const m = window.rzApp.map;
      const sel = d.getSnapshot().find((f) => f.properties.selected) ?? d.getSnapshot().find((f) => f.properties.rzRole === 'outer');
      const ring = sel.geometry.coordinates[0];
      const canvas = m.getCanvas().getBoundingClientRect();
      const p = m.project(ring[0]);
      return { x: p.x + canvas.left, y: p.y + canvas.top };
    });
    // Drop the vertex 4 px off the nearest corner of a building outside
    // the zone: snapping must put it on the corner.
    // (A corner where the moved ring stays simple: terra-draw refuses a
    // self-intersecting drag.)
    const corner = await page.evaluate(async ({ x, y }) => {
      const m = window.rzApp.map;
      const canvas = m.getCanvas().getBoundingClientRect();
      const members = window.rzApp.S.target.buildingIDs;
      const d = window.rzApp.draw;
      const sel = d.getSnapshot().find((f) => f.properties.selected);
      const ring = sel.geometry.coordinates[0].map((c) => { const p = m.project(c); return [p.x, p.y]; });
      const cross = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
      const hits = (a, b, c, e) => cross(c, e, a) * cross(c, e, b) < 0 && cross(a, b, c) * cross(a, b, e) < 0;
      const simple = (r) => {
        const n = r.length - 1;
        for (let i = 0; i < n; i++) for (let j = i + 2; j < n; j++) {
          if (i === 0 && j === n - 1) continue;
          if (hits(r[i], r[i + 1], r[j], r[j + 1])) return false;
        }
        return true;
      };
      // True footprint corners from the API (tile geometry has clip
      // vertices at tile edges that are not corners).
      const near = [];
      for (const f of m.queryRenderedFeatures({ layers: ['buildings'] })) {
        if (members.has(Number(f.id)) || near.some((n) => n.id === Number(f.id))) continue;
        const fr = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
        const p = m.project(fr[0]);
        near.push({ id: Number(f.id), d: Math.hypot(p.x + canvas.left - x, p.y + canvas.top - y) });
      }
      near.sort((a, b) => a.d - b.d);
      const cands = [];
      for (const { id } of near.slice(0, 8)) {
        const b = await (await fetch('/api/v1/app/buildings/' + id)).json();
        const fr = b.geometry.type === 'Polygon' ? b.geometry.coordinates[0] : b.geometry.coordinates[0][0];
        const px = fr.map((c) => { const q = m.project(c); return [q.x, q.y]; });
        for (let k = 0; k + 1 < fr.length; k++) {
          const c = fr[k];
          // A corner, not a point on a straight edge (tiles drop those).
          const prev = px[(k - 1 + fr.length - 1) % (fr.length - 1)], next = px[k + 1];
          const turn = Math.abs(cross(prev, px[k], next)) / (Math.hypot(px[k][0] - prev[0], px[k][1] - prev[1]) * Math.hypot(next[0] - px[k][0], next[1] - px[k][1]) || 1);
          if (turn < 0.2) continue;
          const p = m.project(c);
          const dist = Math.hypot(p.x + canvas.left - x, p.y + canvas.top - y);
          if (dist < 30 || dist > 250) continue;
          const moved = ring.map((q, i) => (i === 0 || i === ring.length - 1 ? [p.x, p.y] : q));
          if (simple(moved)) cands.push({ d: dist, x: p.x + canvas.left, y: p.y + canvas.top, lnglat: c });
        }
      }
      cands.sort((a, b) => a.d - b.d);
      return cands[0] ?? null;
    }, pt);
    check(corner, 'a building corner near the vertex');
    await page.mouse.move(pt.x, pt.y);
    await page.mouse.down();
    const tx = corner.x + 4, ty = corner.y - 3;
    for (let i = 1; i <= 12; i++) await page.mouse.move(pt.x + ((tx - pt.x) * i) / 12, pt.y + ((ty - pt.y) * i) / 12);
    await page.mouse.up();
    await page.waitForFunction(() => window.rzApp.history.state.geom !== null, null, { timeout: 10000 });
    const snapped = await page.evaluate((c) => {
      const m = window.rzApp.map;
      const g = window.rzApp.history.state.geom;
      const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
      const target = m.project(c.lnglat);
      let best = Infinity;
      for (const poly of polys) for (const ring of poly) for (const v of ring) {
        const p = m.project(v);
        best = Math.min(best, Math.hypot(p.x - target.x, p.y - target.y));
      }
      return best;
    }, corner);
    out.metrics.snapDistancePx = Math.round(snapped * 100) / 100;
    check(snapped < 1, `the dragged vertex snapped to the building corner (${snapped.toFixed(2)} px off, dropped 5 px off)`);
    await idle();
    await shot('vertex-dragged');
    await page.keyboard.press('Control+z');
    await page.waitForFunction(() => window.rzApp.history.state.geom === null);
    await page.keyboard.press('Control+y');
    await page.waitForFunction(() => window.rzApp.history.state.geom !== null);
    await page.fill('[data-testid=reason]', 'e2e: boundary along the street');
    await page.click('[data-testid=save]');
    await page.waitForFunction(() => window.rzApp.S.zone?.current_version === 3 && !window.rzApp.S.target);
  });

  await step('a concurrent edit: 409, their version shown, re-applied', async () => {
    await page.click('[data-tab=zone]');
    await page.click('[data-testid=start-edit]');
    await zoomToZone(17);
    const [mine, theirs] = await outsideBuildings();
    check(mine && theirs, 'two buildings outside the zone on screen');
    // Someone else changes the zone (a building added) while we edit.
    const other = await page.evaluate(async (id) => {
      const z = window.rzApp.S.zone;
      const me = await (await fetch('/api/v1/auth/me')).json();
      const res = await fetch(`/api/v1/zones/${z.id}/members`, {
        method: 'PATCH', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token },
        body: JSON.stringify({ version: z.current_version, reason: 'e2e: a colleague adds a building', add_buildings: [id] }),
      });
      return { status: res.status, body: await res.json() };
    }, theirs.id);
    check(other.status === 200 && other.body.current_version === 4, 'the colleague made version 4: ' + JSON.stringify(other));
    // Our edit: another building, clicked.
    await page.mouse.click(mine.x, mine.y);
    await page.waitForFunction(() => /\+1\b/.test(document.querySelector('[data-testid=pending]')?.textContent ?? ''));
    await page.fill('[data-testid=reason]', 'e2e: my edit');
    await page.click('[data-testid=save]');
    await page.waitForSelector('[data-testid=conflict]');
    check(/4/.test(await text('[data-testid=conflict]')), 'conflict names version 4');
    await page.click('#theirs');
    await page.waitForSelector('[data-testid=theirs]');
    await shot('conflict');
    await page.click('#reapply');
    await page.waitForFunction(() => window.rzApp.S.zone?.current_version === 5 && !window.rzApp.S.target);
  });

  await step('polygon tool: an overlapping part is refused with the reason, a separate part is added; cancel', async () => {
    await page.click('[data-tab=zone]');
    await page.click('[data-testid=start-edit]');
    await zoomToZone(17);
    const c = await page.evaluate(() => {
      const m = window.rzApp.map;
      const g = window.rzApp.S.zone.current.geometry;
      const ring = g.type === 'Polygon' ? g.coordinates[0] : g.coordinates[0][0];
      const r = m.getCanvas().getBoundingClientRect();
      const p = m.project(ring[0]);
      return { x: p.x + r.left, y: p.y + r.top, w: r.width, left: r.left, top: r.top, h: r.height };
    });
    const tri = async (x, y, s) => {
      for (const [dx, dy] of [[0, 0], [s, 0], [s / 2, s], [0, 0]]) { await page.mouse.click(x + dx, y + dy); await page.waitForTimeout(150); }
    };
    await page.keyboard.press('p');
    // Over the zone's corner: overlaps the part.
    await tri(c.x - 20, c.y - 20, 40);
    await waitMsg(/overlap/);
    check(await page.evaluate(() => window.rzApp.history.state.geom === null), 'the overlapping shape was not taken');
    await shot('invalid-refused');
    // Far from the zone (a corner of the map): a new part.
    await page.keyboard.press('p');
    await tri(c.left + c.w - 160, c.top + c.h - 160, 60);
    await page.waitForFunction(() => window.rzApp.history.state.geom?.type === 'MultiPolygon');
    const parts = await page.evaluate(() => ({ now: window.rzApp.history.state.geom.coordinates.length,
      before: window.rzApp.S.zone.current.geometry.type === 'Polygon' ? 1 : window.rzApp.S.zone.current.geometry.coordinates.length }));
    check(parts.now === parts.before + 1, 'one more part: ' + JSON.stringify(parts));
    await shot('part-drawn');
    await page.getByRole('button', { name: /^(取消|Cancel)$/ }).click();
    await page.waitForFunction(() => !window.rzApp.S.target);
  });

  await step('record a screening round; the lifting countdown shows', async () => {
    await page.click('[data-tab=zone]');
    await page.waitForSelector('[data-testid=countdown]');
    await page.click('[data-testid=record-screening]');
    await waitMsg(/筛查|Screening/);
    await shot('screening');
  });

  await step('the as-of map shows the zone only after its designation', async () => {
    const count = await page.evaluate(async () => {
      const past = await (await fetch(`/api/v1/zones?county=${window.rzApp.S.county}&at=2000-01-01T00:00:00Z`)).json();
      return past.features.length;
    });
    check(count === 0, 'no zone in 2000');
  });

  await step('the map canvas is not blank and the zone layer renders', async () => {
    await page.evaluate(() => { const m = window.rzApp.map; const g = window.rzApp.S.zone.current.geometry;
      const ring = g.type === 'Polygon' ? g.coordinates[0] : g.coordinates[0][0]; m.jumpTo({ center: ring[0], zoom: 15 }); });
    await idle();
    const r = await page.evaluate(() => new Promise((resolve) => {
      const m = window.rzApp.map;
      const zones = m.queryRenderedFeatures({ layers: ['rz-zones-fill'] }).length;
      // Read the WebGL canvas inside a render, while its buffer is intact.
      m.once('render', () => resolve({ zones, ...window.rzCanvasPixels(m.getCanvas()) }));
      m.triggerRepaint();
    }));
    out.metrics.canvas = r;
    check(r.zones > 0 && r.colours > 10 && r.red > 0, 'zone layer rendered on a non-blank canvas: ' + JSON.stringify(r));
    await shot('canvas-check');
  });

  await step('publisher previews (zh/en, CAP, Atom) and publishes', async () => {
    await login('publisher');
    await page.click('[data-testid=preview]');
    await page.waitForSelector('[data-testid=notice-preview]');
    check((await text('[data-testid=body-zh]')).length > 20, 'Chinese notice text');
    check((await text('[data-testid=body-en]')).length > 20, 'English notice text');
    check((await text('[data-testid=cap]')).includes('urn:oasis:names:tc:emergency:cap:1.2'), 'CAP 1.2 message');
    check((await text('[data-testid=atom]')).includes('http://www.w3.org/2005/Atom'), 'Atom entry');
    await shot('publish-preview');
    await page.fill('#pubReason', 'e2e: publish the reviewed zone');
    await page.click('[data-testid=publish-now]');
    await page.waitForSelector('[data-testid=published]');
    await shot('published');
  });

  await step('the zone is on the public page', async () => {
    const county = await page.evaluate(() => window.rzApp.S.county);
    const pub = await page.evaluate(async (c) => (await (await fetch(`/api/v1/public/zones?county=${c}`)).json()), county);
    check(pub.features.some((f) => f.id === zoneID && f.properties.version === 5), `zone ${zoneID} v5 is public`);
    await page.goto(`${base}/zones/${zoneID}`, { waitUntil: 'load' });
    const body = await page.locator('body').innerText();
    check(body.includes(zoneName), 'public zone page names the zone');
    await shot('public-zone');
  });

  await step('tablet width', async () => {
    await page.setViewportSize({ width: 768, height: 1024 });
    await login('expert');
    const sizes = await page.evaluate(() => ({ map: window.rzApp.map.getCanvas().getBoundingClientRect().width, side: document.querySelector('#side').getBoundingClientRect().width }));
    check(sizes.map > 300 && sizes.side > 200, 'map and panel both visible at tablet width: ' + JSON.stringify(sizes));
    await shot('tablet');
  });
} catch (e) {
  out.errors.push(String(e && e.stack || e));
  out.failed = true;
  await shot('failure').catch(() => {});
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
out.totalMs = Date.now() - started;
console.log(JSON.stringify(out));
process.exit(out.failed ? 1 : 0);
