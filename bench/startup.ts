/**
 * `npm run bench -- startup`: how long `npm start` takes to be ready (the command spawned → the
 * first 200 from /readyz) on a fresh data folder (first start: the embedded database is made)
 * and again on that folder (restart), beside `node -e ''` (the floor: Node's own start-up) in the
 * same run. Embedded database and sandbox processor, as on a fresh clone. Targets: first start
 * ≤ 3 s, restart ≤ 1.5 s. `--rounds n` (3) runs each n times and judges the medians. Beside each
 * wall time, the CPU time the started processes (npm and the service) had used when ready: on a
 * shared machine the wall time moves with everything else running, the CPU time much less.
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
  const first: Ready[] = [];
  const restart: Ready[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'courtpay-startup-'));
  try {
    for (let i = 0; i < rounds; i++) {
      floor.push(await nodeFloor());
      const dataDir = path.join(tmp, `round-${i}`, 'pglite');
      first.push(await startToReady(dataDir));
      restart.push(await startToReady(dataDir));
      console.log(`  round ${i + 1}: node -e '' ${ms(floor[i])}, first start ${ms(first[i].wallMs)} (CPU ${ms(first[i].cpuMs)}), restart ${ms(restart[i].wallMs)} (CPU ${ms(restart[i].cpuMs)})`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const f = median(first.map((r) => r.wallMs));
  const r = median(restart.map((x) => x.wallMs));
  const n = median(floor);
  console.log('');
  console.log(`${'median'.padEnd(30)}${'wall ms'.padStart(9)}${"× node -e ''".padStart(15)}${'CPU ms'.padStart(9)}`);
  const rows: [string, number, number | null][] = [
    ["node -e ''", n, null],
    ['npm start, fresh data folder', f, median(first.map((x) => x.cpuMs))],
    ['npm start, restart', r, median(restart.map((x) => x.cpuMs))],
  ];
  for (const [label, v, cpu] of rows) {
    console.log(`${label.padEnd(30)}${String(Math.round(v)).padStart(9)}${(v / n).toFixed(1).padStart(15)}${(cpu === null ? '' : String(Math.round(cpu))).padStart(9)}`);
  }
  const met = f <= TARGET.first && r <= TARGET.restart;
  console.log(`\ntarget: first start ≤ ${TARGET.first} ms (${ms(f)}), restart ≤ ${TARGET.restart} ms (${ms(r)}) — ${met ? 'MET' : 'NOT MET'}`);
  console.log(`load average when done: ${os.loadavg().map((l) => l.toFixed(1)).join(', ')} on ${os.cpus().length} cores`);
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

interface Ready {
  wallMs: number;
  /** CPU (user + system) of npm and every process under it, when /readyz first answered 200; NaN where /proc is missing. */
  cpuMs: number;
}

/** Spawns `npm start` on dataDir, polls /readyz until it answers 200, then stops it with SIGTERM and waits for its exit. */
async function startToReady(dataDir: string): Promise<Ready> {
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
    return { wallMs: performance.now() - t, cpuMs: treeCpuMs(child.pid!) };
  } finally {
    if (!gone) child.kill('SIGTERM');
    const code = await exited;
    if (code !== 0 && code !== null) console.error(`npm start exited ${code} after SIGTERM:\n${output}`);
  }
}

/** Linux: utime + stime of pid and its descendants, from /proc (clock ticks of 10 ms). */
function treeCpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let total = (Number(fields[11]) + Number(fields[12])) * 10;
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const children = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      for (const c of children ? children.split(' ') : []) total += treeCpuMs(Number(c));
    }
    return total;
  } catch {
    return Number.NaN;
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
