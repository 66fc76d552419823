// Editing a zone's members and boundary, as expert2, on a zone accepted
// from a proposal (the zone fixture): a building added by clicking (undo,
// redo, save: the next version and its diff), a vertex dragged with
// snapping, a concurrent edit (409, re-applied), a building removed.
import { test, check } from '../fixtures.mjs';
import { snapCorner } from '../lib/snap.mjs';

// The zone fixture accepts a proposal of expert's run.
test.use({ state: 'run' });

// editZone signs expert2 in, opens the zone and starts editing it close up.
async function editZone(app, zone) {
  await app.login('expert2');
  await app.openZone(zone.id);
  await app.page.click('[data-testid=start-edit]');
  await app.page.waitForSelector('[data-testid=editor]');
  await app.zoomToZone(17);
}

test('expert2 adds a building by clicking it, undoes and redoes, saves: the next version and its diff', async ({ app, page, zone }) => {
  await editZone(app, zone);
  const target = (await app.outsideBuildings())[0];
  check(target, 'a building outside the zone is on screen');
  app.metrics.clickedBuilding = target.id;
  await page.mouse.click(target.x, target.y);
  await app.pending(/\+1\b/);
  await app.idle();
  await app.shot('building-added');
  await page.keyboard.press('Control+z');
  await app.pending(/\+0\b/);
  await page.keyboard.press('Control+y');
  await app.pending(/\+1\b/);
  await page.fill('[data-testid=reason]', 'e2e: add the neighbouring building');
  await page.click('[data-testid=save]');
  await page.waitForSelector('[data-testid=diff]');
  const added = Number(await app.text('[data-testid=diff-added]'));
  check(added >= 1, 'diff shows an added building');
  check(await page.evaluate(() => window.rzApp.S.zone.current_version) === zone.version + 1, `zone at version ${zone.version + 1}`);
  const versions = await page.locator('[data-testid=versions] li').count();
  check(versions >= 2, 'two versions listed');
  await app.idle();
  const green = await page.evaluate(() => window.rzApp.map.querySourceFeatures('rz-delta').filter((f) => f.properties.d === 'add').length);
  check(green >= 1, 'added building drawn green on the map');
  app.metrics.diffAdded = added;
  check(/\d+ → \d+ \([+-]?\d+\)/.test(await app.text('[data-testid=diff-population]')), 'diff shows population from → to (delta)');
  check(/\d+ → \d+/.test(await app.text('[data-testid=diff-staff]')), 'diff shows staff from → to');
  await app.shot('diff-v2');
});

test('expert2 drags a vertex (snapping on), undoes, redoes, saves', async ({ app, page, zone }) => {
  await editZone(app, zone);
  await page.keyboard.press('v');
  await page.waitForFunction(() => window.rzApp.S.tool === 'vertex');
  await app.idle();
  const { pt, corner } = await snapCorner(page);
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
  app.metrics.snapDistancePx = Math.round(snapped * 100) / 100;
  check(snapped < 1, `the dragged vertex snapped to the building corner (${snapped.toFixed(2)} px off, dropped 5 px off)`);
  await app.idle();
  await app.shot('vertex-dragged');
  await page.keyboard.press('Control+z');
  await page.waitForFunction(() => window.rzApp.history.state.geom === null);
  await page.keyboard.press('Control+y');
  await page.waitForFunction(() => window.rzApp.history.state.geom !== null);
  await page.fill('[data-testid=reason]', 'e2e: boundary along the street');
  await page.click('[data-testid=save]');
  await page.waitForFunction((v) => window.rzApp.S.zone?.current_version === v && !window.rzApp.S.target, zone.version + 1);
  await app.shot('vertex-saved');
});

test('a concurrent edit: 409, their version shown, re-applied', async ({ app, page, zone }) => {
  await editZone(app, zone);
  const [mine, theirs] = await app.outsideBuildings();
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
  const theirVersion = zone.version + 1;
  check(other.status === 200 && other.body.current_version === theirVersion, `the colleague made version ${theirVersion}: ` + JSON.stringify(other));
  // Our edit: another building, clicked.
  await page.mouse.click(mine.x, mine.y);
  await app.pending(/\+1\b/);
  await page.fill('[data-testid=reason]', 'e2e: my edit');
  await page.click('[data-testid=save]');
  await page.waitForSelector('[data-testid=conflict]');
  check(new RegExp(String(theirVersion)).test(await app.text('[data-testid=conflict]')), `conflict names version ${theirVersion}`);
  await page.click('#theirs');
  await page.waitForSelector('[data-testid=theirs]');
  await app.shot('conflict');
  await page.click('#reapply');
  await page.waitForFunction((v) => window.rzApp.S.zone?.current_version === v && !window.rzApp.S.target, theirVersion + 1);
});

test('expert2 removes a member building by clicking it: the next version, drawn red in the diff', async ({ app, page, bigZone: zone }) => {
  await editZone(app, zone);
  const [member] = await app.buildingsOnScreen(true);
  check(member, 'a member building on screen');
  await page.mouse.click(member.x, member.y);
  await app.pending(/[−-]1\b/);
  await page.fill('[data-testid=reason]', 'e2e: the building is outside the affected area');
  await page.click('[data-testid=save]');
  await page.waitForSelector('[data-testid=diff]');
  check(await page.evaluate(() => window.rzApp.S.zone.current_version) === zone.version + 1, `zone at version ${zone.version + 1}`);
  const removed = Number(await app.text('[data-testid=diff-removed]'));
  check(removed >= 1, 'diff shows a removed building');
  check(!(await page.evaluate(() => window.rzApp.S.zone.current.building_ids)).includes(member.id), 'the building is no longer a member');
  // Where the removed building is (the zone, of separate buildings, may
  // now be drawn to bounds without it).
  await page.evaluate(async (id) => {
    const b = await (await fetch('/api/v1/app/buildings/' + id)).json();
    const ring = b.geometry.type === 'Polygon' ? b.geometry.coordinates[0] : b.geometry.coordinates[0][0];
    window.rzApp.map.jumpTo({ center: ring[0], zoom: 17 });
  }, member.id);
  await app.idle();
  const red = await page.evaluate(() => window.rzApp.map.querySourceFeatures('rz-delta').filter((f) => f.properties.d === 'remove').length);
  check(red >= 1, 'removed building drawn red on the map');
  app.metrics.diffRemoved = removed;
  await app.shot('diff-removed');
});
