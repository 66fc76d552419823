// The map's layers: zones by level and status in the layers panel, and a
// map canvas that is not blank with the zone layer drawn.
import { test, check } from '../fixtures.mjs';

// The layers panel draws zones by level and status: a level unticked
// leaves the map, lifted zones come when asked for.
test('zones by level and status in the layers panel', async ({ signedIn: app, page }) => {
  await page.click('[data-tab=layers]');
  const drawn = () => page.evaluate(() => {
    const fs = window.rzApp.map.queryRenderedFeatures({ layers: ['rz-zones-fill'] });
    return { all: fs.length, high: fs.filter((f) => f.properties.level === 'high').length,
      lifted: fs.filter((f) => f.properties.status === 'lifted').length,
      listedLifted: window.rzZones.features.filter((f) => f.properties.status === 'lifted').length };
  });
  await page.evaluate(() => window.rzApp.map.fitBounds(window.rzApp.S.counties.find((c) => c.id === window.rzApp.S.county).bbox, { duration: 0 }));
  await app.idle();
  const all = await drawn();
  check(all.high > 0 && all.lifted === 0 && all.listedLifted === 0, 'high-risk zones drawn, no lifted zone fetched or drawn: ' + JSON.stringify(all));
  await page.click('[data-zlevel=high]');
  await app.idle();
  const noHigh = await drawn();
  check(noHigh.high === 0, 'high-risk zones leave the map when their level is unticked: ' + JSON.stringify(noHigh));
  await page.click('[data-zlevel=high]');
  await page.click('[data-zstatus=lifted]');
  await page.waitForFunction(() => window.rzZones.features.some((f) => f.properties.status === 'lifted'), null, { timeout: 30000 });
  await app.idle();
  const withLifted = await drawn();
  check(withLifted.listedLifted > 0 && withLifted.high > 0, 'lifted zones fetched when ticked: ' + JSON.stringify(withLifted));
  await app.shot('zone-filter');
  await page.click('[data-zstatus=lifted]');
  await page.waitForFunction(() => !window.rzZones.features.some((f) => f.properties.status === 'lifted'), null, { timeout: 30000 });
  await app.idle();
});

test('the map canvas is not blank and the zone layer renders', async ({ signedIn: app, page }) => {
  // Centred on an active zone (the first listed).
  await page.evaluate(() => { const m = window.rzApp.map; const g = window.rzZones.features[0].geometry;
    const ring = g.type === 'Polygon' ? g.coordinates[0] : g.coordinates[0][0]; m.jumpTo({ center: ring[0], zoom: 15 }); });
  await app.idle();
  const r = await page.evaluate(() => new Promise((resolve) => {
    const m = window.rzApp.map;
    const zones = m.queryRenderedFeatures({ layers: ['rz-zones-fill'] }).length;
    // Read the WebGL canvas inside a render, while its buffer is intact.
    m.once('render', () => resolve({ zones, ...window.rzCanvasPixels(m.getCanvas()) }));
    m.triggerRepaint();
  }));
  app.metrics.canvas = r;
  check(r.zones > 0 && r.colours > 10 && r.red > 0, 'zone layer rendered on a non-blank canvas: ' + JSON.stringify(r));
  await app.shot('canvas-check');
});
