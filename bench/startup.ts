/**
 * `npm run bench -- startup`: how long `npm start` takes to be ready (the command spawned → the
 * first 200 from /readyz) on a fresh data folder (first start: the embedded database is made)
 * and again on that folder (restart), beside `node -e ''` (the floor: Node's own start-up) in the
 * same run. Embedded database and sandbox processor, as on a fresh clone. Targets: first start
 * ≤ 3 s, restart ≤ 1.5 s. `--rounds n` (3) runs each n times and judges the medians.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(__dirname, '..');
const TARGET = { first: 3000, restart: 1500 };
const GIVE_UP_MS = 60_000;

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { rounds: { type: 'string', default: '3' } } });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be an integer ≥ 1, got "${values.rounds}"`);
  const compiled = fs.existsSync(path.join(ROOT, 'dist/src/main.js'));
  console.log(`startup: ${rounds} round(s); npm start runs ${compiled ? 'the compiled dist/ (present)' : 'src/ through tsx (no dist/)'}; embedded PGlite, sandbox processor`);

  const floor: number[] = [];
  const first: number[] = [];
  const restart: number[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'courtpay-startup-'));
  try {
    for (let i = 0; i < rounds; i++) {
      floor.push(await nodeFloor());
      const dataDir = path.join(tmp, `round-${i}`, 'pglite');
      first.push(await startToReady(dataDir));
      restart.push(await startToReady(dataDir));
      console.log(`  round ${i + 1}: node -e '' ${ms(floor[i])}, first start ${ms(first[i])}, restart ${ms(restart[i])}`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const f = median(first);
  const r = median(restart);
  const n = median(floor);
  console.log('');
  console.log(`${'median'.padEnd(28)}${'ms'.padStart(8)}${'× node -e \'\''.padStart(16)}`);
  for (const [label, v] of [["node -e ''", n], ['npm start, fresh data folder', f], ['npm start, restart', r]] as const) {
    console.log(`${label.padEnd(28)}${String(Math.round(v)).padStart(8)}${(v / n).toFixed(1).padStart(16)}`);
  }
  const met = f <= TARGET.first && r <= TARGET.restart;
  console.log(`\ntarget: first start ≤ ${TARGET.first} ms (${ms(f)}), restart ≤ ${TARGET.restart} ms (${ms(r)}) — ${met ? 'MET' : 'NOT MET'}`);
  return 0;
}

/** Node's own start-up and exit, the floor under any service's. */
async function nodeFloor(): Promise<number> {
  const t = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    child.once('error', reject).once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`node -e '' exited ${code}`))));
  });
  return performance.now() - t;
}

/** Spawns `npm start` on dataDir, polls /readyz until it answers 200, then stops it with SIGTERM and waits for its exit. */
async function startToReady(dataDir: string): Promise<number> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development', PORT: String(port), COURTPAY_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  for (const k of ['DATABASE_URL', 'STRIPE_SECRET_KEY', 'STRIPE_API_BASE', 'PUBLIC_BASE_URL', 'COURTPAY_CONFIG_DIR']) delete env[k];
  let output = '';
  const t = performance.now();
  const child = spawn('npm', ['start', '--silent'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  try {
    while (!(await readyz(port))) {
      if (gone) throw new Error(`npm start exited before it was ready:\n${output}`);
      if (performance.now() - t > GIVE_UP_MS) throw new Error(`npm start not ready after ${GIVE_UP_MS} ms:\n${output}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return performance.now() - t;
  } finally {
    if (!gone) child.kill('SIGTERM');
    const code = await exited;
    if (code !== 0 && code !== null) console.error(`npm start exited ${code} after SIGTERM:\n${output}`);
  }
}

function readyz(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/readyz', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('error', () => resolve(false)).once('timeout', () => req.destroy());
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function ms(v: number): string {
  return `${Math.round(v)} ms`;
}
