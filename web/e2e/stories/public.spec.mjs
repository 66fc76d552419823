// The public map: the county page and the embed page render the map with
// the published zones of the demo story (layers, rendered zone features,
// zone-coloured pixels on a canvas of more than one colour).
import { test, check } from '../fixtures.mjs';
import { signIn } from '../lib/api.mjs';
import { countyOf } from '../lib/seed.mjs';

test.use({ viewport: { width: 900, height: 640 } });

for (const [name, path] of [['county page', (c) => `/counties/${c}`], ['embed page', (c) => `/embed?county=${c}&lang=en`]]) {
  test(`the ${name} renders the map with zones`, async ({ app, page }) => {
    const expert = await signIn(app.base, 'expert');
    const county = await countyOf(expert).finally(() => expert.dispose());
    await page.goto(app.base + path(county), { waitUntil: 'load', timeout: 30000 });
    await page.waitForFunction(() => {
      const el = document.querySelector('.rz-map');
      return el && (el.getAttribute('data-ready') === 'true' || el.getAttribute('data-error'));
    }, null, { timeout: 30000 });
    const r = await page.evaluate(() => {
      const el = document.querySelector('.rz-map');
      const map = (window.rzMaps || [])[0];
      const r = { ready: el.getAttribute('data-ready') === 'true', mapError: el.getAttribute('data-error') || '' };
      if (!map) return r;
      const layers = (map.getStyle().layers || []).map((l) => l.id);
      r.layers = layers;
      r.zoneLayers = layers.filter((id) => /zone/i.test(id));
      r.zoneFeatures = map.queryRenderedFeatures({ layers: r.zoneLayers }).length;
      // The zone fill: #b3261e at 45 % over the background is reddish.
      const s = window.rzCanvasPixels(map.getCanvas());
      r.colours = s.colours;
      r.zonePixels = s.red;
      return r;
    });
    app.metrics[name.replace(' ', '')] = r;
    check(r.ready && r.zoneLayers?.length > 0 && r.zoneFeatures > 0 && r.zonePixels > 0 && r.colours > 1, `the map did not render zones: ${JSON.stringify(r)}`);
    await app.shot(name.replace(' ', '-'));
  });
}
