// Deciding on proposals of a run by expert, as expert2: a rejection needs a
// reason; a proposal edited (a building added) then accepted.
import { test, check } from '../fixtures.mjs';

// The proposals expert2 decides on: expert's run.
test.use({ state: 'run' });

test('expert2 rejects a proposal: a reason is required', async ({ app, page }) => {
  await app.login('expert2');
  const idx = await app.newestUncovered(1, false);
  check(idx >= 0, 'an open proposal of the new run');
  const pid = await page.evaluate((i) => window.rzApp.S.proposals[i].id, idx);
  await page.locator('[data-testid=proposal]').nth(idx).click();
  await page.waitForSelector('#decisionReason');
  await page.click('[data-act=reject]');
  await app.waitMsg(/^(请填写理由|Give a reason)$/, 'err');
  await page.fill('#decisionReason', 'e2e: the cases are already contained');
  await page.click('[data-act=reject]');
  await app.waitMsg(/^(已驳回|Rejected)$/, 'ok');
  check(!(await page.evaluate((id) => window.rzApp.S.proposals.some((p) => p.id === id), pid)), 'the rejected proposal is no longer listed');
  const rejected = await page.evaluate(async (id) => {
    const r = await (await fetch(`/api/v1/app/proposals?county=${window.rzApp.S.county}&status=rejected`)).json();
    return r.proposals.find((p) => p.id === id)?.status ?? null;
  }, pid);
  check(rejected === 'rejected', 'the proposal is rejected on the server: ' + rejected);
  await app.shot('rejected');
});

test('expert2 edits a proposal (a building added by clicking), then accepts it', async ({ app, page }) => {
  await app.login('expert2');
  const idx = await app.newestUncovered(1, false);
  check(idx >= 0, 'an open proposal that no active zone covers');
  const p = await page.evaluate((i) => { const x = window.rzApp.S.proposals[i]; return { id: x.id, buildings: x.building_ids }; }, idx);
  await page.locator('[data-testid=proposal]').nth(idx).click();
  await page.waitForSelector('[data-act=editaccept]');
  await page.click('[data-act=editaccept]');
  await page.waitForSelector('[data-testid=editor]');
  await app.zoomToZone(17);
  // A neighbour that no active zone holds.
  const taken = await page.evaluate(() => window.rzZones.features.flatMap((f) => f.properties.building_ids));
  const [extra] = (await app.outsideBuildings()).filter((b) => !taken.includes(b.id));
  check(extra, 'a building next to the proposal that no zone holds, on screen');
  await page.mouse.click(extra.x, extra.y);
  await app.pending(/\+1\b/);
  const before = await page.evaluate(() => window.rzZones.features.map((f) => f.properties.zone_id));
  await page.fill('[data-testid=reason]', 'e2e: accepted with the neighbouring building');
  await page.click('[data-testid=save]');
  await app.waitMsg(/^(已通过|Accepted)/, 'ok');
  const z = await page.evaluate(() => ({ id: window.rzApp.S.zone.id, buildings: window.rzApp.S.zone.current.building_ids }));
  check(!before.includes(z.id) && z.buildings.includes(extra.id) && p.buildings.every((b) => z.buildings.includes(b)),
    `a new zone #${z.id} holds the proposal's buildings and the added one: ${JSON.stringify(z.buildings)}`);
  await app.idle();
  await app.shot('edit-accepted');
});
