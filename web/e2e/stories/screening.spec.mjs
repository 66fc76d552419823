// Screening and lifting: a screening round recorded on a zone (the tested
// count asked for, the lifting countdown shown), and a zone of the demo
// timeline lifted through the panel when the rule allows it.
import { test, check } from '../fixtures.mjs';

// The zone fixture accepts a proposal of expert's run.
test.use({ state: 'run' });

test('record a screening round; the lifting countdown shows', async ({ app, page, zone }) => {
  await app.login('expert2');
  await app.openZone(zone.id);
  await page.waitForSelector('[data-testid=countdown]');
  // The form asks for the people actually tested: nothing prefilled.
  check(await page.inputValue('#scrTested') === '', 'the tested field is empty, not the zone population');
  await page.click('[data-testid=record-screening]');
  await app.waitMsg(/实际检测人数|actually tested/, 'err');
  await page.fill('#scrTested', await page.evaluate(() => String(window.rzApp.S.zone.current.population)));
  await page.click('[data-testid=record-screening]');
  await app.waitMsg(/^(已登记筛查|Screening recorded)$/, 'ok');
  const countdown = await app.text('[data-testid=countdown]');
  check(/\d+/.test(countdown), 'the countdown shows a number of days: ' + countdown);
  app.metrics.countdown = countdown;
  await app.shot('screening');
});

test('lift through the panel when the demo timeline allows it', async ({ app, page }) => {
  await app.login('expert2');
  await page.click('[data-tab=zone]');
  const zones = await page.evaluate(async () => {
    const r = [];
    for (const f of window.rzZones.features) {
      const l = await (await fetch(`/api/v1/zones/${f.properties.zone_id}/lifting`)).json();
      r.push({ id: f.properties.zone_id, eligible: !!l.eligible, earliest: l.earliest_lifting, today: l.today });
    }
    return r;
  });
  app.metrics.lifting = zones;
  const z = zones.find((x) => x.eligible) ?? zones.find((x) => x.earliest <= x.today);
  if (!z) {
    app.notes.push('lift not tried: no active zone of the demo timeline reaches its earliest lifting date today');
    await app.shot('lift-none');
    return;
  }
  await page.click(`[data-zone="${z.id}"]`);
  await page.waitForFunction((id) => window.rzApp.S.zone?.id === id && window.rzApp.S.lifting, z.id);
  if (!z.eligible) {
    // The rule counts the round of the earliest lifting date (day 5 after
    // the last infection): recorded late, everyone negative.
    await page.fill('#scrDate', z.earliest);
    await page.fill('#scrTested', await page.evaluate(() => String(window.rzApp.S.zone.current.population)));
    await page.click('[data-testid=record-screening]');
    await app.waitMsg(/^(已登记筛查|Screening recorded)$/, 'ok');
    z.eligible = await page.evaluate(() => !!window.rzApp.S.lifting.eligible);
  }
  if (!z.eligible) {
    app.notes.push(`lift not tried: zone #${z.id} reached its earliest lifting date but the rule does not allow lifting it yet`);
    await app.shot('lift-not-eligible');
    return;
  }
  await page.fill('#liftReason', 'e2e: no new infection and the screening negative');
  await page.click('#lift');
  await app.waitMsg(/^(已解除|Lifted)$/, 'ok');
  check(await page.evaluate(() => window.rzApp.S.zone.status) === 'lifted', 'the zone is lifted');
  app.metrics.lifted = z.id;
  await app.shot('lifted');
});
