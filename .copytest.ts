import { openDatabase } from './src/db';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
(async () => {
  const db = await openDatabase({ db: { url: null, embeddedDir: 'memory://', pool: { min: 0, max: 1 } } } as any, { migrate: false });
  await db.knex.raw('create table t (a text, b numeric)');
  const conn: any = await (db.knex.client as any).acquireConnection();
  try {
    const s = conn.query(copyFrom('COPY t (a, b) FROM STDIN (FORMAT csv)'));
    await pipeline(Readable.from(['x,1.5\n', 'y,2\n']), s);
    console.log('rows', s.rowCount);
  } catch (e) { console.log('ERR', (e as Error).message); }
  finally { await (db.knex.client as any).releaseConnection(conn); }
  console.log(await db.knex('t').select());
  await db.close();
})();
