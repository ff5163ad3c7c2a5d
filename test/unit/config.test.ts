import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, localFeesFor } from '../../src/config';

describe('configuration', () => {
  const base = { NODE_ENV: 'test' } as NodeJS.ProcessEnv;
  const production: NodeJS.ProcessEnv = {
    NODE_ENV: 'production', DATABASE_URL: 'postgres://u@h/d', STRIPE_SECRET_KEY: 'sk_live_1', STRIPE_WEBHOOK_SECRET: 'whsec_1', PUBLIC_BASE_URL: 'https://pay.courts.example',
    API_KEY_CHECKSUM_SECRET: 'a-production-secret-of-32-chars!',
  };

  it('when loaded, then it is validated and deeply frozen', () => {
    const cfg = loadConfig({ env: base });
    expect(Object.isFrozen(cfg)).to.equal(true);
    expect(Object.isFrozen(cfg.courts[0])).to.equal(true);
    expect(cfg.courts.map((c) => c.level)).to.include.members(['high', 'intermediate', 'basic']);
  });

  it('when env vars are set, then they override the files', () => {
    const cfg = loadConfig({ env: { ...base, PORT: '4100', DATABASE_URL: 'postgres://u@h:5432/d', STRIPE_WEBHOOK_SECRET: 'whsec_a, whsec_b', LOG_LEVEL: 'debug' } });
    expect(cfg.http.port).to.equal(4100);
    expect(cfg.db.url).to.equal('postgres://u@h:5432/d');
    expect(cfg.stripe.webhookSecrets).to.deep.equal(['whsec_a', 'whsec_b']);
    expect(cfg.publicBaseUrl).to.equal('http://localhost:4100');
  });

  const refuses: [string, NodeJS.ProcessEnv, RegExp][] = [
    ['a port that is not a number', { PORT: 'eighty' }, /http\.port/],
    ['a database URL that is not postgres', { DATABASE_URL: 'mysql://x' }, /db\.url/],
    ['an unknown log level', { LOG_LEVEL: 'loud' }, /log\.level/],
    ['a webhook secret of the wrong form', { STRIPE_WEBHOOK_SECRET: 'nope' }, /stripe\.webhookSecrets/],
    ['production without DATABASE_URL', { NODE_ENV: 'production', STRIPE_SECRET_KEY: 'sk_test_1' }, /db\.url/],
    ['production without Stripe (the sandbox is refused)', { NODE_ENV: 'production', DATABASE_URL: 'postgres://u@h/d' }, /stripe\.secretKey/],
    ['production without PUBLIC_BASE_URL', { ...production, PUBLIC_BASE_URL: undefined }, /publicBaseUrl \(PUBLIC_BASE_URL\): required in production/],
    ['production with a plain-http PUBLIC_BASE_URL', { ...production, PUBLIC_BASE_URL: 'http://pay.courts.example' }, /publicBaseUrl \(PUBLIC_BASE_URL\): must be https/],
    ['production with a localhost PUBLIC_BASE_URL', { ...production, PUBLIC_BASE_URL: 'https://localhost:3000' }, /publicBaseUrl \(PUBLIC_BASE_URL\)/],
    ['production without STRIPE_WEBHOOK_SECRET', { ...production, STRIPE_WEBHOOK_SECRET: undefined }, /stripe\.webhookSecrets \(STRIPE_WEBHOOK_SECRET\): required in production/],
    ['production without API_KEY_CHECKSUM_SECRET (the development default is not used there)', { ...production, API_KEY_CHECKSUM_SECRET: undefined }, /auth\.keyChecksumSecret \(API_KEY_CHECKSUM_SECRET\): required in production/],
    ['a key checksum secret shorter than 16 characters', { API_KEY_CHECKSUM_SECRET: 'short' }, /auth\.keyChecksumSecret/],
  ];
  for (const [what, env, named] of refuses) {
    it(`when given ${what}, then start-up stops naming the setting`, () => {
      expect(() => loadConfig({ env: { ...base, ...env } })).to.throw(ConfigError, named);
    });
  }

  it('when production has its database, Stripe, webhook secret and public address, then it starts', () => {
    const cfg = loadConfig({ env: production });
    expect(cfg.publicBaseUrl).to.equal('https://pay.courts.example');
    expect(cfg.stripe.webhookSecrets).to.deep.equal(['whsec_1']);
  });

  it('when a province fee is outside the statutory range, then start-up stops naming it', () => {
    expect(() => loadConfig({ env: base, overrides: { provinces: { '14': { fees: { divorce: 40000 } } } } })).to.throw(ConfigError, /provinces\.14\.fees/);
  });

  it('when a court names an unknown province or time zone, then start-up stops naming the court', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    fs.copyFileSync(path.resolve(__dirname, '../../config/default.json'), path.join(dir, 'default.json'));
    const courts = loadConfig({ env: base }).courts.map((c) => ({ ...c }));
    courts[1].timeZone = 'Mars/Olympus';
    fs.writeFileSync(path.join(dir, 'local.json'), JSON.stringify({ courts }));
    expect(() => loadConfig({ env: base, dir })).to.throw(ConfigError, /courts\.1\.timeZone/);
  });

  describe('job schedules (cron)', () => {
    const settings: [string, (cron: string) => Record<string, unknown>][] = [
      ['payments.sweepCron', (cron) => ({ payments: { sweepCron: cron } })],
      ['callbacks.overdueCron', (cron) => ({ callbacks: { overdueCron: cron } })],
      ['reconciliation.cron', (cron) => ({ reconciliation: { cron } })],
      ['idempotency.purgeCron', (cron) => ({ idempotency: { purgeCron: cron } })],
      ['audit.verifyCron', (cron) => ({ audit: { verifyCron: cron } })],
    ];
    // The first four have five fields, so the old five-fields pattern let them through.
    const refused: [string, string][] = [
      ['61 * * * *', 'a minute past 59'],
      ['0 24 * * *', 'an hour past 23'],
      ['0 3 30 2 *', 'a 30 February that never comes'],
      ['a b c d e', 'words'],
      ['@sometimes', 'an unknown nickname'],
      ['0 3 * *', 'four fields (cron-parser alone reads them as hour 0 of day 3)'],
      ['*/10 * * * * *', 'six fields (a seconds field, firing every 10 s)'],
    ];
    for (const [cron, what] of refused) {
      it(`when a schedule is ${what} ("${cron}"), then start-up stops naming the setting`, () => {
        for (const [setting, override] of settings) {
          expect(() => loadConfig({ env: base, overrides: override(cron) }), setting).to.throw(ConfigError, new RegExp(`invalid setting ${setting.replace('.', '\\.')}: .*(cron expression|five fields)`));
        }
      });
    }

    // The old pattern refused the nicknames.
    for (const cron of ['@daily', '@hourly', '0 3 * * MON-FRI', '*/15 * * * *', '0 3 L * *']) {
      it(`when a schedule is "${cron}", then it is kept as given`, () => {
        for (const [setting, override] of settings) {
          const cfg = loadConfig({ env: base, overrides: override(cron) }) as unknown as Record<string, Record<string, unknown>>;
          const [group, key] = setting.split('.');
          expect(cfg[group][key], setting).to.equal(cron);
        }
      });
    }
  });

  it('when a court overrides a province fee, then its own amount applies and the rest come from the province', () => {
    const cfg = loadConfig({ env: base });
    expect(localFeesFor(cfg, '1421')).to.include({ divorce: 15000, otherNonProperty: 8000 });
    expect(localFeesFor(cfg, '1411')).to.include({ divorce: 20000 });
  });
});
