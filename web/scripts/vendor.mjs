// Build step of the browser assets (npm run build): copy MapLibre GL JS from
// node_modules (installed from npm, pinned in package.json) and the public
// map script into dist/, which the Go binary embeds (web/embed.go).
import { copyFileSync, mkdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const copies = [
  ['node_modules/maplibre-gl/dist/maplibre-gl.js', 'vendor/maplibre-gl.js'],
  ['node_modules/maplibre-gl/dist/maplibre-gl.css', 'vendor/maplibre-gl.css'],
  ['node_modules/maplibre-gl/LICENSE.txt', 'vendor/maplibre-gl.LICENSE.txt'],
  ['src/embed.js', 'embed.js'],
];
for (const [from, to] of copies) {
  const src = join(root, from);
  if (!existsSync(src)) {
    console.error(`vendor: ${from} is missing: run npm ci in web/ first`);
    process.exit(1);
  }
  const dst = join(dist, to);
  mkdirSync(dirname(dst), { recursive: true });
  copyFileSync(src, dst);
  console.log(`vendor: ${from} -> dist/${to}`);
}
