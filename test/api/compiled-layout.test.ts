import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/config';

const ROOT = path.resolve(__dirname, '../..');

describe('the compiled layout (dist/)', () => {
  it('when the config module is compiled as `npm run build` lays it out and loaded from another folder without COURTPAY_CONFIG_DIR, then it reads the project config', function () {
    this.timeout(120_000);
    // One folder below the project, as dist/ is: <out>/src/config/index.js. Only this module and
    // what it imports are compiled, to keep the test to a few seconds.
    const out = path.join(ROOT, `.compiled-test-${process.pid}`);
    try {
      const tsc = spawnSync(process.execPath, [
        require.resolve('typescript/bin/tsc'), '--outDir', out, '--rootDir', ROOT, '--module', 'node20', '--moduleResolution', 'node16', '--target', 'es2022',
        '--esModuleInterop', '--skipLibCheck', '--resolveJsonModule', '--types', 'node', '--noCheck', path.join(ROOT, 'src/config/index.ts'),
      ], { encoding: 'utf8' });
      const compiled = path.join(out, 'src/config/index.js');
      expect(fs.existsSync(compiled), `tsc emitted nothing: ${tsc.stdout}${tsc.stderr}`).to.equal(true);

      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, NODE_ENV: 'development' };
      const run = spawnSync(process.execPath, ['-e', `const c = require(${JSON.stringify(compiled)}).loadConfig(); process.stdout.write(JSON.stringify({ env: c.env, courts: c.courts.map((x) => x.code) }))`], {
        cwd: os.tmpdir(), env, encoding: 'utf8',
      });
      expect(run.status, run.stderr).to.equal(0);
      const expected = loadConfig({ env: { NODE_ENV: 'development' } });
      expect(JSON.parse(run.stdout)).to.deep.equal({ env: 'development', courts: expected.courts.map((c) => c.code) });
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('when COURTPAY_CONFIG_DIR names a folder without the config files, then loading stops naming the variable, not a missing "env"', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-empty-'));
    try {
      expect(() => loadConfig({ env: { COURTPAY_CONFIG_DIR: empty } })).to.throw(ConfigError, /no default\.json in .*COURTPAY_CONFIG_DIR/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
