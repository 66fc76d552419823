// Zone shapes in the editor: the polygon tool refuses an overlapping part
// with the reason (zh, en) and adds a separate one; a zone of two parts and
// a hole loads whole, a vertex of a part is dragged and it saves with the
// same parts and holes; a ring the editor cannot load blocks the boundary
// tools.
import { test, check, countRings } from '../fixtures.mjs';
import { twoPartsAndAHole } from '../lib/multipart.mjs';

// The zone fixture accepts a proposal of expert's run.
test.use({ state: 'run' });

test('polygon tool: an overlapping part is refused with the reason, a separate part is added; cancel', async ({ app, page, zone }) => {
  await app.login('expert2');
  await app.openZone(zone.id);
  await page.click('[data-testid=start-edit]');
  await page.waitForSelector('[data-testid=editor]');
  await app.zoomToZone(17);
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
  // Over the zone's corner: overlaps the part; the reason in Chinese, then
  // (another try) in English.
  await tri(c.x - 20, c.y - 20, 40);
  await app.waitMsg(/^形状无效：第 \d+ 和第 \d+ 部分重叠/, 'err');
  check(await page.evaluate(() => window.rzApp.history.state.geom === null), 'the overlapping shape was not taken');
  await app.shot('invalid-refused-zh');
  await app.switchLang('en');
  await page.keyboard.press('p');
  await tri(c.x - 25, c.y - 15, 40);
  await app.waitMsg(/^Invalid shape: parts \d+ and \d+ overlap/, 'err');
  check(await page.evaluate(() => window.rzApp.history.state.geom === null), 'the overlapping shape was not taken');
  await app.shot('invalid-refused-en');
  await app.switchLang('zh');
  // Far from the zone (a corner of the map): a new part.
  await page.keyboard.press('p');
  await tri(c.left + c.w - 160, c.top + c.h - 160, 60);
  await page.waitForFunction(() => window.rzApp.history.state.geom?.type === 'MultiPolygon');
  const parts = await page.evaluate(() => ({ now: window.rzApp.history.state.geom.coordinates.length,
    before: window.rzApp.S.zone.current.geometry.type === 'Polygon' ? 1 : window.rzApp.S.zone.current.geometry.coordinates.length }));
  check(parts.now === parts.before + 1, 'one more part: ' + JSON.stringify(parts));
  await app.shot('part-drawn');
  await page.getByRole('button', { name: /^(取消|Cancel)$/ }).click();
  await page.waitForFunction(() => !window.rzApp.S.target);
});

test('a zone of two parts and a hole: loaded whole, a vertex of a part dragged, saved with the same parts and holes', async ({ app, page }) => {
  await app.login('expert2');
  await page.click('[data-tab=zone]');
  const made = await twoPartsAndAHole(page);
  check(!made.error, made.error);
  app.metrics.multipart = { zone: made.id, before: made.before, sent: made.sent, saved: made.saved };
  check(made.saved.parts >= 2 && made.saved.holes >= 1, 'the server kept two parts and a hole: ' + JSON.stringify(made.saved));
  await page.click(`[data-zone="${made.id}"]`);
  await page.waitForFunction((v) => window.rzApp.S.zone?.current_version === v, made.version);
  await page.click('[data-testid=start-edit]');
  await page.waitForSelector('[data-testid=editor]');
  const loaded = await page.evaluate(() => ({ rings: window.rzApp.draw.getSnapshot().filter((f) => f.geometry.type === 'Polygon').length,
    refused: window.rzApp.S.target.refused ?? null }));
  check(loaded.refused === null && loaded.rings === made.saved.parts + made.saved.holes, 'every ring is in the editor: ' + JSON.stringify(loaded));
  await app.idle();
  await app.shot('multipart-loaded');
  // Select the new part and drag one of its corners outward.
  await page.evaluate((c) => window.rzApp.map.jumpTo({ center: c, zoom: 17 }), made.part);
  await app.idle();
  await page.keyboard.press('v');
  await page.waitForFunction(() => window.rzApp.S.tool === 'vertex');
  const sq = await page.evaluate((c) => {
    const m = window.rzApp.map;
    const r = m.getCanvas().getBoundingClientRect();
    const centre = m.project(c);
    const f = window.rzApp.draw.getSnapshot().find((x) => {
      const ring = x.geometry.coordinates[0];
      return x.properties.rzRole === 'outer' && ring.length === 5 && Math.hypot(...[0, 1].map((k) => ring.slice(0, 4).reduce((s, p) => s + p[k], 0) / 4 - c[k])) < 1e-4;
    });
    const corner = m.project(f.geometry.coordinates[0][0]);
    return { cx: centre.x + r.left, cy: centre.y + r.top, x: corner.x + r.left, y: corner.y + r.top };
  }, made.part);
  await page.mouse.click(sq.cx, sq.cy);
  await page.waitForTimeout(300);
  const len = Math.hypot(sq.x - sq.cx, sq.y - sq.cy);
  const tx = sq.x + ((sq.x - sq.cx) / len) * 14, ty = sq.y + ((sq.y - sq.cy) / len) * 14;
  await page.mouse.move(sq.x, sq.y);
  await page.mouse.down();
  for (let i = 1; i <= 8; i++) await page.mouse.move(sq.x + ((tx - sq.x) * i) / 8, sq.y + ((ty - sq.y) * i) / 8);
  await page.mouse.up();
  await page.waitForFunction(() => window.rzApp.history.state.geom !== null, null, { timeout: 10000 });
  const edited = await page.evaluate(() => window.rzApp.history.state.geom);
  check(JSON.stringify(countRings(edited)) === JSON.stringify(made.saved), 'the edited shape keeps the parts and holes: ' + JSON.stringify(countRings(edited)));
  await page.fill('[data-testid=reason]', 'e2e: the second part follows the fence');
  await page.click('[data-testid=save]');
  await page.waitForFunction((v) => window.rzApp.S.zone?.current_version === v + 1 && !window.rzApp.S.target, made.version);
  const after = await page.evaluate(async (id) => (await (await fetch('/api/v1/zones/' + id)).json()).current.geometry, made.id);
  app.metrics.multipart.afterDrag = countRings(after);
  check(JSON.stringify(countRings(after)) === JSON.stringify(made.saved), 'saved with the same parts and holes: ' + JSON.stringify(countRings(after)));
  check(JSON.stringify(after) !== JSON.stringify(made.geometry), 'the saved geometry changed');
  await app.idle();
  await app.shot('multipart-saved');
  // A ring the editor cannot load is an error and blocks the boundary
  // tools (a save would drop it); clicking buildings still works.
  await page.click('[data-tab=zone]');
  await page.click('[data-testid=start-edit]');
  await page.evaluate((g) => {
    const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
    const a = polys[0][0][0], b = polys[0][0][1];
    window.rzApp.loadDrawGeometry({ type: 'MultiPolygon', coordinates: [...polys, [[a, b, a]]] });
  }, after);
  await app.waitMsg(/编辑器无法载入|could not load/, 'err');
  await page.keyboard.press('v');
  check(await page.evaluate(() => window.rzApp.S.tool) !== 'vertex', 'the vertex tool is refused while a ring is not loaded');
  await app.shot('ring-refused');
  await page.getByRole('button', { name: /^(取消|Cancel)$/ }).click();
  await page.waitForFunction(() => !window.rzApp.S.target);
});
