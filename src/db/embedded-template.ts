import fs from 'node:fs';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';

/**
 * initdb and then the migrations are most of a first start on the embedded database (seconds of
 * WASM each: ~10 s and ~5 s on a busy 2-core machine). A new database instead starts from a dump
 * of one that has just been through them, kept in node_modules/.cache/courtpay per PGlite version
 * (the catalog format goes with it): `migrated`, after every migration in db/migrations as they
 * are now (keyed by their names and contents), else `initdb`, freshly initialised and nothing
 * more. `npm install` makes both (postinstall), or else the first start that needs one. A missing
 * or unreadable template only costs the work it would have saved.
 */
export type TemplateKind = { kind: 'initdb' } | { kind: 'migrated'; migrations: string };

const PGLITE_ENTRY = require.resolve('@electric-sql/pglite');

function pglitePackageDir(): string {
  for (let dir = path.dirname(PGLITE_ENTRY); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (path.basename(dir) === 'pglite' && fs.existsSync(path.join(dir, 'package.json'))) return dir;
  }
  throw new Error(`cannot find @electric-sql/pglite's package folder above ${PGLITE_ENTRY}`);
}

function cacheDir(): string {
  return path.join(pglitePackageDir(), '..', '..', '.cache', 'courtpay');
}

function prefix(): string {
  const { version } = JSON.parse(fs.readFileSync(path.join(pglitePackageDir(), 'package.json'), 'utf8')) as { version: string };
  return `pglite-${version}-`;
}

/** node_modules/.cache/courtpay/pglite-<version>-initdb.tar, or …-migrated-<fingerprint>.tar. */
export function templateFile(t: TemplateKind): string {
  return path.join(cacheDir(), `${prefix()}${t.kind === 'initdb' ? 'initdb' : `migrated-${t.migrations}`}.tar`);
}

/** The template as PGlite's `loadDataDir` takes it, or null if there is none. Marked as used, for the pruning below. */
export function readTemplate(t: TemplateKind): Blob | null {
  try {
    const file = templateFile(t);
    const blob = new Blob([fs.readFileSync(file)]);
    const now = new Date();
    fs.utimesSync(file, now, now);
    return blob;
  } catch {
    return null;
  }
}

/** Migrated templates kept: the sources and the compiled dist/ (whose migrations are .js) each have one, and a checkout or two beside them. */
const MIGRATED_KEPT = 4;

export function dropTemplate(t: TemplateKind): void {
  fs.rmSync(templateFile(t), { force: true });
}

/**
 * Dumps a database that has just been through initdb (or initdb and the migrations), and nothing
 * else, as that template. Written to a temporary file and renamed, so a start running at the same
 * time never reads half of one; of the migrated templates, the ones used longest ago go.
 * Uncompressed: it loads faster than gzip's (40 MB against 4.5 MB, in a cache folder).
 */
export async function saveTemplate(t: TemplateKind, pglite: PGlite): Promise<void> {
  const file = templateFile(t);
  const tarball = await pglite.dumpDataDir('none');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, Buffer.from(await tarball.arrayBuffer()));
  fs.renameSync(tmp, file);
  if (t.kind === 'migrated') {
    const others = fs.readdirSync(cacheDir()).filter((f) => f.startsWith(`${prefix()}migrated-`) && f.endsWith('.tar')).map((f) => path.join(cacheDir(), f));
    const byUse = others.map((f) => ({ f, used: fs.statSync(f).mtimeMs })).sort((a, b) => b.used - a.used);
    for (const { f } of byUse.slice(MIGRATED_KEPT)) fs.rmSync(f, { force: true });
  }
}
