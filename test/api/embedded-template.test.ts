import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { openDatabase } from '../../src/db';
import { templateFile } from '../../src/db/embedded-template';
import { migrationsCurrent, migrationsFingerprint } from '../../src/db/migrate';

const MIGRATIONS = fs.readdirSync(path.resolve(__dirname, '../../db/migrations')).filter((f) => /^\d{14}_.*\.ts$/.test(f));
const pool = { min: 0, max: 1, acquireTimeoutMs: 60_000 };

describe('the embedded database: a new data folder and a restart', () => {
  it('when a new data folder is opened, then it has every migration and the migrated template is left; a restart keeps its rows and runs nothing', async function () {
    this.timeout(180_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'courtpay-embedded-'));
    const dataDir = path.join(dir, 'pglite');
    try {
      let db = await openDatabase({ db: { url: null, embeddedDir: dataDir, pool } });
      try {
        const names = (await db.knex('knex_migrations').orderBy('name').pluck('name')) as string[];
        expect(names).to.deep.equal(MIGRATIONS.map((f) => f.replace(/\.ts$/, '')).sort());
        expect(await migrationsCurrent(db.knex)).to.equal(true);
        expect(fs.existsSync(templateFile({ kind: 'migrated', migrations: migrationsFingerprint() }))).to.equal(true);
        await db.knex.raw('create table restart_probe (x int)');
        await db.knex('restart_probe').insert({ x: 42 });
      } finally {
        await db.close();
      }

      db = await openDatabase({ db: { url: null, embeddedDir: dataDir, pool } });
      try {
        expect(await db.knex('restart_probe').pluck('x')).to.deep.equal([42]);
        expect(await db.knex('knex_migrations').count({ n: '*' }).first()).to.deep.equal({ n: MIGRATIONS.length });
      } finally {
        await db.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
