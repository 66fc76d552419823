// Page check of the public map in Debian's headless Chromium, driven by
// playwright-core (never a downloaded browser):
//
//   node web/e2e/embed.mjs URL [screenshot.png]
//
// Opens URL, waits for the first .rz-map to be ready (or to fail), and
// prints one JSON line: the map's layers, how many zone features it
// renders, how many pixels of the canvas have the zone colour, distinct
// colours, and errors. Exits 1 when the map did not render zones.
import { rmSync } from 'node:fs';
import { launch } from './browser.mjs';

const [url, shot] = process.argv.slice(2);
if (!url) {
  console.error('usage: node web/e2e/embed.mjs URL [screenshot.png]');
  process.exit(2);
}
const { browser, profile } = await launch({ width: 900, height: 640 });
const out = { url, errors: [] };
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => out.errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') out.errors.push(m.text()); });
  await page.goto(url, { waitUntil: 'load', timeout: 30000 });
  await page.waitForFunction(() => {
    const el = document.querySelector('.rz-map');
    return el && (el.getAttribute('data-ready') === 'true' || el.getAttribute('data-error'));
  }, null, { timeout: 30000 });
  Object.assign(out, await page.evaluate(() => {
    const el = document.querySelector('.rz-map');
    const map = (window.rzMaps || [])[0];
    const r = { ready: el.getAttribute('data-ready') === 'true', mapError: el.getAttribute('data-error') || '' };
    if (!map) return r;
    const layers = (map.getStyle().layers || []).map((l) => l.id);
    r.layers = layers;
    const zoneLayers = layers.filter((id) => /zone/i.test(id));
    r.zoneLayers = zoneLayers;
    r.zoneFeatures = map.queryRenderedFeatures({ layers: zoneLayers }).length;
    // The zone fill: #b3261e at 45 % over the background is reddish.
    const s = window.rzCanvasPixels(map.getCanvas());
    r.colours = s.colours;
    r.zonePixels = s.red;
    return r;
  }));
  if (shot) await page.screenshot({ path: shot });
} catch (e) {
  out.errors.push(String(e));
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
process.exit(out.ready && out.zoneFeatures > 0 && out.zonePixels > 0 && out.colours > 1 ? 0 : 1);
