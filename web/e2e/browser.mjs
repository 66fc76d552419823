// What the browser stories share with their runner's configuration
// (playwright.config.mjs, fixtures.mjs): Debian's Chromium (never a
// downloaded browser) headless with software WebGL, and an in-page sampler
// of a map canvas.

// chromiumArgs: headless with software WebGL, nothing fetched by the
// browser itself (the stories fail on a request to another origin).
export const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--enable-unsafe-swiftshader', '--use-angle=swiftshader'];

// canvasPixels runs in the page (installed as window.rzCanvasPixels): every
// 7th pixel of a copy of the canvas, the distinct colours and how many are
// reddish (the zone fills). A WebGL canvas must be read inside a render.
export function canvasPixels(src) {
  const c = document.createElement('canvas');
  c.width = src.width;
  c.height = src.height;
  const ctx = c.getContext('2d');
  ctx.drawImage(src, 0, 0);
  const px = ctx.getImageData(0, 0, c.width, c.height).data;
  const colours = new Set();
  let red = 0;
  for (let i = 0; i < px.length; i += 4 * 7) {
    colours.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
    if (px[i] > px[i + 1] + 40 && px[i] > px[i + 2] + 40) red++;
  }
  return { colours: colours.size, red };
}
