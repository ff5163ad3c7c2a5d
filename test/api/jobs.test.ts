import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import knexFactory, { type Knex } from 'knex';
import type PgBoss from 'pg-boss';
import { pgBossRunner } from '../../src/jobs/pg-boss-runner';
import { PRESENCE_PREFIX } from '../../src/jobs/presence';
import { inProcessRunner, type JobRunner, type JobSpec } from '../../src/jobs/runner';
import { testEnv } from '../support/env';
import { aJobQueueSchema, captureLogs, counted, NEVER, rnd, waitFor } from '../support/job-fixtures';

/** A database that is not there: what a job's query meets during an outage. */
function unreachableDatabase(): Knex {
  const quiet = () => undefined;
  return knexFactory({ client: 'pg', connection: 'postgres://postgres@127.0.0.1:1/none', pool: { min: 0, max: 1, acquireTimeoutMillis: 2000 }, log: { warn: quiet, error: quiet, debug: quiet, deprecate: quiet } });
}

/** A job whose first run meets the outage and whose later runs reach the database. */
function blippingJob(name: string, cron: string) {
  const dead = unreachableDatabase();
  const runs: string[] = [];
  const spec: JobSpec = {
    name,
    cron,
    run: async () => {
      runs.push(runs.length === 0 ? 'outage' : 'ok');
      await (runs.length === 1 ? dead : testEnv().knex).raw('select 1');
    },
  };
  return { spec, runs, close: () => dead.destroy() };
}

function recordRejections() {
  const seen: unknown[] = [];
  const record = (reason: unknown) => void seen.push(reason);
  process.on('unhandledRejection', record);
  return { seen, stop: () => process.off('unhandledRejection', record) };
}

describe('scheduled jobs: failures and abandoned runs', () => {
  it('when a job fails on the in-process runner (a database outage), then it is logged and counted, nothing escapes the runner, and the next tick runs it again', async function () {
    this.timeout(30_000);
    const name = `blip-${rnd()}`;
    const job = blippingJob(name, '* * * * * *'); // every second
    const logs = captureLogs();
    const rejections = recordRejections();
    const runner = inProcessRunner();
    try {
      await runner.register(job.spec);
      await waitFor('the run after the failed one', () => logs.of('job finished', name).length > 0);
    } finally {
      await runner.stop();
      logs.stop();
      rejections.stop();
      await job.close();
    }
    expect(job.runs.slice(0, 2)).to.deep.equal(['outage', 'ok']);
    const failed = logs.of('job failed', name);
    expect(failed).to.have.length(1);
    expect(failed[0].err).to.match(/ECONNREFUSED/);
    expect(failed[0].level).to.equal('error');
    expect(await counted('courtpay_job_failures_total', name)).to.equal(1);
    expect(rejections.seen).to.deep.equal([]);
  });

  describe('on pg-boss', () => {
    let queues: Awaited<ReturnType<typeof aJobQueueSchema>>;
    let schema: string;
    let clock: PgBoss;
    const runners: JobRunner[] = [];
    const url = () => testEnv().config.db.url!;

    beforeEach(async function () {
      // PGlite: no pg-boss there; the embedded database is one process, and the in-process runner is all it has.
      if (testEnv().embedded) this.skip();
      this.timeout(30_000);
      queues = await aJobQueueSchema();
      ({ schema, clock } = queues);
    });

    afterEach(async function () {
      if (testEnv().embedded) return;
      this.timeout(30_000);
      for (const r of runners.splice(0)) await r.stop();
      await queues.drop();
    });

    /** A service process that has taken a run of the job (a tick sent) and is in the middle of it. */
    async function aRunningChild(name: string) {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '../support/job-child.ts'), url(), schema, name], { stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = new Promise((r) => child.once('exit', r));
      try {
        const out = lines(child);
        const instance = (await out.next('ready ')).slice('ready '.length);
        const jobId = (await clock.send(name, {}))!;
        await out.next('running');
        return {
          instance,
          jobId,
          async kill() {
            child.kill('SIGKILL');
            await exited;
            const killed = await clock.getJobById(name, jobId);
            expect(killed?.state).to.equal('active');
            expect((killed?.output as { owner: { instance: string } }).owner.instance).to.equal(instance);
            // The process is gone once Postgres has ended its sessions.
            await waitFor('the killed process’s sessions ended', async () => (await testEnv().knex.raw('select count(*)::int as n from pg_stat_activity where application_name = ?', [PRESENCE_PREFIX + instance])).rows[0].n === 0);
          },
        };
      } catch (e) {
        child.kill('SIGKILL');
        throw e;
      }
    }

    it('when a job fails on pg-boss (a database outage), then it is logged, counted and left for retry, nothing escapes the runner, and the next tick runs it again', async function () {
      this.timeout(30_000);
      const name = `blip-${rnd()}`;
      const job = blippingJob(name, NEVER);
      const logs = captureLogs();
      const rejections = recordRejections();
      try {
        const runner = await pgBossRunner(url(), { schema });
        runners.push(runner);
        await runner.register(job.spec);
        const first = (await clock.send(name, {}))!;
        await waitFor('the failed run recorded', async () => (await clock.getJobById(name, first))?.state === 'retry');
        const second = (await clock.send(name, {}))!;
        await waitFor('the next run completed', async () => (await clock.getJobById(name, second))?.state === 'completed');
        expect(logs.of('job failed', name).map((l) => [l.jobId, l.err])).to.deep.equal([[first, 'connect ECONNREFUSED 127.0.0.1:1']]);
        expect(logs.of('job finished', name).map((l) => l.jobId)).to.deep.equal([second]);
      } finally {
        logs.stop();
        rejections.stop();
        await job.close();
      }
      expect(job.runs).to.deep.equal(['outage', 'ok']);
      expect(await counted('courtpay_job_failures_total', name)).to.equal(1);
      expect(rejections.seen).to.deep.equal([]);
    });

    it('when the process running a job is killed, then the next start fails its run, logs and counts it, and the next tick runs at once, not at the 15-minute expiry', async function () {
      this.timeout(60_000);
      const name = `sweep-${rnd()}`;
      const child = await aRunningChild(name);
      const leftActive = child.jobId;
      const childInstance = child.instance;
      await child.kill();

      const logs = captureLogs();
      const ran: string[] = [];
      try {
        const runner = await pgBossRunner(url(), { schema });
        runners.push(runner);
        await runner.register({ name, cron: NEVER, expireInSeconds: 900, run: async () => void ran.push('run') });
        const abandoned = logs.lines.filter((l) => l.message.startsWith('job run abandoned') && l.job === name);
        expect(abandoned.map((l) => [l.jobId, l.ownerInstance, l.level])).to.deep.equal([[leftActive, childInstance, 'warn']]);
        const failed = await clock.getJobById(name, leftActive);
        expect(failed?.state).to.equal('retry');
        expect((failed?.output as { message: string }).message).to.include(`instance ${childInstance}`).and.include('is gone');
        expect(await counted('courtpay_jobs_abandoned_total', name)).to.equal(1);

        const next = (await clock.send(name, {}))!;
        await waitFor('the next run completed', async () => (await clock.getJobById(name, next))?.state === 'completed');
        expect(ran).to.deep.equal(['run']);
      } finally {
        logs.stop();
      }
    });

    it('when an instance is killed mid-run while another is up, then the live one fails the abandoned run at its next check and takes the next tick', async function () {
      this.timeout(60_000);
      const name = `sweep-${rnd()}`;
      const child = await aRunningChild(name);
      const ran: string[] = [];
      const logs = captureLogs();
      try {
        const live = await pgBossRunner(url(), { schema, abandonedCheckMs: 200 });
        runners.push(live);
        await live.register({ name, cron: NEVER, expireInSeconds: 900, run: async () => void ran.push('run') });
        expect((await clock.getJobById(name, child.jobId))?.state).to.equal('active'); // its owner is alive: left alone
        await child.kill();
        await waitFor('the abandoned run failed', async () => (await clock.getJobById(name, child.jobId))?.state === 'retry');
        expect(logs.lines.filter((l) => l.message.startsWith('job run abandoned')).map((l) => [l.jobId, l.ownerInstance])).to.deep.equal([[child.jobId, child.instance]]);
        const next = (await clock.send(name, {}))!;
        await waitFor('the next run completed', async () => (await clock.getJobById(name, next))?.state === 'completed');
        expect(ran).to.deep.equal(['run']);
      } finally {
        logs.stop();
      }
    });

    it('when a live instance is running a job, then another instance starting does not take its run for abandoned', async function () {
      this.timeout(30_000);
      const name = `sweep-${rnd()}`;
      let release: () => void = () => undefined;
      const held = new Promise<void>((r) => (release = r));
      const started: string[] = [];
      const busy = await pgBossRunner(url(), { schema });
      runners.push(busy);
      await busy.register({ name, cron: NEVER, run: async () => (started.push('busy'), held) });
      const running = (await clock.send(name, {}))!;
      await waitFor('the run taken', () => started.length === 1);
      const logs = captureLogs();
      try {
        const other = await pgBossRunner(url(), { schema });
        runners.push(other);
        await other.register({ name, cron: NEVER, run: async () => void started.push('other') });
        expect(logs.lines.filter((l) => l.message.startsWith('job run abandoned'))).to.deep.equal([]);
        expect((await clock.getJobById(name, running))?.state).to.equal('active');
      } finally {
        logs.stop();
        release();
      }
      await waitFor('the held run completed', async () => (await clock.getJobById(name, running))?.state === 'completed');
      expect(started).to.deep.equal(['busy']);
    });
  });

  it('when something in the service rejects a promise nobody handles, then it is logged and the service keeps serving; an uncaught exception stops it cleanly with exit code 1', async function () {
    this.timeout(90_000);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'courtpay-faults-'));
    // This run's Postgres schema (already migrated), or else an embedded database of its own.
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', PORT: '0', COURTPAY_DATA_DIR: dataDir, PUBLIC_BASE_URL: 'https://pay.courts.example' };
    if (testEnv().config.db.url) env.DATABASE_URL = testEnv().config.db.url!;
    else delete env.DATABASE_URL;
    delete env.STRIPE_SECRET_KEY;
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', './test/support/inject-faults.ts', 'src/main.ts'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const out = lines(child);
      const port = Number(/localhost:(\d+)/.exec(await out.next('courtpay is running at'))![1]);
      child.stdin!.write('reject\n');
      expect(JSON.parse(await out.next('{"', (l) => l.includes('unhandled rejection')))).to.include({ level: 'error', err: 'injected: a rejection nobody handles' });
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).to.equal(200);

      child.stdin!.write('throw\n');
      expect(JSON.parse(await out.next('{"', (l) => l.includes('uncaught exception')))).to.include({ level: 'error', err: 'injected: an exception nobody catches' });
      await out.next('{"', (l) => JSON.parse(l).message === 'stopped');
      expect(await exited).to.equal(1);
      let refused = false;
      await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => (refused = true));
      expect(refused).to.equal(true);
    } finally {
      if (child.exitCode === null && !child.signalCode) child.kill('SIGKILL');
      await exited;
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** A child's stdout and stderr by line: `next(prefix)` waits for the next line starting with prefix (and passing also). */
function lines(child: ChildProcess) {
  const seen: string[] = [];
  let wake: () => void = () => undefined;
  let buffered = '';
  const take = (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    seen.push(...parts);
    wake();
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  let from = 0;
  return {
    async next(prefix: string, also: (line: string) => boolean = () => true): Promise<string> {
      for (;;) {
        const i = seen.findIndex((l, k) => k >= from && l.startsWith(prefix) && also(l));
        if (i >= 0) {
          from = i + 1;
          return seen[i];
        }
        if (child.exitCode !== null || child.signalCode) throw new Error(`child exited before "${prefix}":\n${seen.join('\n')}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 200);
        });
      }
    },
  };
}
