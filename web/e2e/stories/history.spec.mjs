// History: the map as of a past time. Before the zone (the zone fixture,
// designated just now) was designated it is not on the map; the older
// zones of the demo story are.
import { test, check } from '../fixtures.mjs';

// The zone fixture accepts a proposal of expert's run.
test.use({ state: 'run' });

test('the as-of control: before the zone was designated it is not on the map, the older zones are', async ({ app, page, zone }) => {
  await app.login('expert2');
  await app.openZone(zone.id);
  await page.evaluate(() => { const m = window.rzApp.map; const c = window.rzApp.S.counties.find((x) => x.id === window.rzApp.S.county);
    m.fitBounds([[c.bbox[0], c.bbox[1]], [c.bbox[2], c.bbox[3]]], { padding: 20, duration: 0 }); });
  // A minute before version 1, in the input's local time.
  const before = await page.evaluate(() => {
    const v1 = window.rzApp.S.versions.find((v) => v.version === 1);
    const d = new Date(new Date(v1.valid_from).getTime() - 60000);
    return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  });
  await page.fill('#asof', before);
  await page.locator('#asof').dispatchEvent('change');
  await page.waitForFunction((id) => !window.rzZones.features.some((f) => f.properties.zone_id === id), zone.id);
  await app.idle();
  const then = await page.evaluate((id) => {
    const drawn = window.rzApp.map.queryRenderedFeatures({ layers: ['rz-zones-fill'] });
    return { listed: window.rzZones.features.length, drawn: drawn.length, ours: drawn.filter((f) => Number(f.properties.zone_id) === id).length };
  }, zone.id);
  app.metrics.asOf = then;
  check(then.ours === 0 && then.listed > 0 && then.drawn > 0, 'as of before the designation: the older zones, not ours: ' + JSON.stringify(then));
  await app.shot('as-of');
  await page.click('#asofNow');
  await page.waitForFunction((id) => window.rzZones.features.some((f) => f.properties.zone_id === id), zone.id);
  check(await page.inputValue('#asof') === '', 'as-of cleared');
});
