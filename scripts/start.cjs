// `npm start`: the compiled service when `npm run build` made dist/ from the sources as they are
// now (it starts in about half the time: no TypeScript to load), else the TypeScript itself
// through tsx. Either way in this one process, so a signal reaches the service directly
// (src/main.ts drains on SIGTERM and SIGINT).
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const compiled = path.join(root, 'dist/src/main.js');

/** The newest .ts file under dir, in ms since the epoch. */
function newestSource(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

function migrations(dir, ext) {
  if (!fs.existsSync(dir)) return '';
  return fs.readdirSync(dir).filter((f) => f.endsWith(ext) && !f.endsWith('.d.ts')).map((f) => f.slice(0, -ext.length)).sort().join(',');
}

function compiledIsCurrent() {
  if (!fs.existsSync(compiled)) return false;
  const built = fs.statSync(compiled).mtimeMs;
  if (Math.max(newestSource(path.join(root, 'src')), newestSource(path.join(root, 'db'))) > built) return false;
  // A migration deleted from db/migrations must not still run from dist/.
  return migrations(path.join(root, 'db/migrations'), '.ts') === migrations(path.join(root, 'dist/db/migrations'), '.js');
}

if (process.env.COURTPAY_START !== 'source' && compiledIsCurrent()) {
  require(compiled);
} else {
  require('tsx/cjs');
  require(path.join(root, 'src/main.ts'));
}
