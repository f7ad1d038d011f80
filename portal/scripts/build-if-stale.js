#!/usr/bin/env node
/**
 * Builds the portal (vite build → build/, adapter-node) unless build/ was made from exactly the
 * sources there are now: `npm start` (prestart) and the browser tests call it, and it takes a few
 * milliseconds when nothing changed. Staleness is a hash of the inputs' contents, not their
 * times, so a fresh clone, a checkout or a touched file never fool it.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const portal = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(portal, '..');
const build = join(portal, 'build');
const stamp = join(build, '.source-hash');

const INPUTS = [
  'portal/src',
  'portal/static',
  'portal/svelte.config.js',
  'portal/vite.config.ts',
  'portal/package.json',
  'api-spec/src/wes.ts',
  'api-spec/src/broker.ts',
  'package-lock.json',
];

/** @param {string} path @returns {string[]} */
function files(path) {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .filter((e) => !e.name.endsWith('.test.ts'))
    .flatMap((e) => files(join(path, e.name)));
}

export function sourceHash() {
  const hash = createHash('sha256');
  for (const file of INPUTS.flatMap((p) => files(join(root, p))).sort()) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

const wanted = sourceHash();
const have = existsSync(stamp) && existsSync(join(build, 'handler.js')) ? readFileSync(stamp, 'utf8').trim() : null;
if (have === wanted && !process.argv.includes('--force')) process.exit(0);

console.log(have ? 'portal: sources changed, rebuilding (vite build)…' : 'portal: no build yet, building (vite build)…');
const started = Date.now();
const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
const result = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: portal, stdio: 'inherit' });
if (result.status !== 0) {
  console.error('portal: the build failed; the broker starts without the portal.');
  process.exit(process.argv.includes('--strict') ? 1 : 0);
}
writeFileSync(stamp, `${wanted}\n`);
console.log(`portal: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
