// Restores the lock entries of platform binaries the registry does not
// serve here (docs/webapp.md, "The lock file and platform binaries"): every
// optional dependency a lock entry names without an entry of its own is
// added as optional, with the os/cpu (and libc) its name states, so that
// `npm ci` skips it on this platform without fetching it.
//
//   node scripts/lock-platforms.mjs   (in web/, after an npm install)
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const pkgs = lock.packages;
const added = [];
for (const meta of Object.values(pkgs)) {
  for (const [name, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (pkgs[key]) continue;
    // @scope/tool-<os>-<cpu>[-<abi>], e.g. @rollup/rollup-linux-arm64-musl
    const [os, cpu, ...abi] = name.split('/').pop().split('-').slice(1);
    if (!os || !cpu) throw new Error(`${name}: cannot tell its platform from its name`);
    const entry = { version, ...(meta.dev ? { dev: true } : {}), optional: true, os: [os], cpu: [cpu] };
    if (os === 'linux' && abi.includes('gnu')) entry.libc = ['glibc'];
    if (os === 'linux' && abi.includes('musl')) entry.libc = ['musl'];
    pkgs[key] = entry;
    added.push(name);
  }
}
const { '': root, ...rest } = pkgs;
lock.packages = { '': root, ...Object.fromEntries(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`lock-platforms: ${added.length} entries added${added.length ? ': ' + added.join(', ') : ''}`);
