// Signing in: the map renders, at desktop and at tablet width.
import { test, check } from '../fixtures.mjs';

test('expert signs in; the map renders', async ({ app }) => {
  const t0 = Date.now();
  await app.login('expert');
  app.metrics.loginToMapMs = Date.now() - t0;
  await app.idle();
  const zones = await app.page.evaluate(() => window.rzApp.map.queryRenderedFeatures({ layers: ['rz-zones-fill'] }).length);
  check(zones > 0, 'the zones are drawn after signing in');
  await app.shot('expert-map');
});

test('tablet width: map and panel both visible', async ({ app, page }) => {
  await page.setViewportSize({ width: 768, height: 1024 });
  await app.login('expert');
  const sizes = await page.evaluate(() => ({ map: window.rzApp.map.getCanvas().getBoundingClientRect().width, side: document.querySelector('#side').getBoundingClientRect().width }));
  check(sizes.map > 300 && sizes.side > 200, 'map and panel both visible at tablet width: ' + JSON.stringify(sizes));
  await app.shot('tablet');
});
