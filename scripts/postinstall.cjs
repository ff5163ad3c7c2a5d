// npm install: make the embedded database's templates now (src/db/embedded-template.ts), so the
// first `npm start` loads a migrated database instead of running initdb and every migration.
// Never fails an install: skipped in production installs (no embedded database there, no tsx),
// and any error only leaves the first start to do that work itself.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

if (process.env.NODE_ENV === 'production') process.exit(0);
try {
  require.resolve('tsx');
} catch {
  process.exit(0);
}
const root = path.resolve(__dirname, '..');
const prepare = path.join(root, 'src/db/prepare-templates.ts');
if (require('node:fs').existsSync(prepare)) spawnSync(process.execPath, ['--import', 'tsx', prepare], { cwd: root, stdio: 'inherit' });
