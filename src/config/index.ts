import fs from 'node:fs';
import path from 'node:path';
import cronParser from 'cron-parser';
import Joi from 'joi';
import { validateLocalAmounts, type LocalFeeAmounts } from '../fees/compute';

/**
 * The one place that reads configuration: `config/default.json`, then `config/<env>.json`,
 * then `config/local.json` (untracked, optional), then the environment variables the API
 * contract names. Validated once and frozen; a bad setting stops start-up naming it.
 */
export type Env = 'development' | 'test' | 'production';
export type CourtLevel = 'high' | 'intermediate' | 'basic';

export interface CourtConfig {
  code: string;
  name: string;
  level: CourtLevel;
  province: string;
  designation: string;
  timeZone: string;
  fees?: LocalFeeAmounts;
  /** The court's case system's records endpoint, for reconciliation's case-record check. */
  caseRecordsUrl?: string;
}

export interface ProvinceConfig {
  name: string;
  abbreviation: string;
  fees: LocalFeeAmounts;
}

export interface Config {
  env: Env;
  http: {
    port: number;
    bodyLimit: string;
    metricsPublic: boolean;
    shutdownGraceMs: number;
    /** A request must arrive whole (headers and body) within this; a client trickling one is cut off. */
    requestTimeoutMs: number;
    headersTimeoutMs: number;
    keepAliveTimeoutMs: number;
    /** Connections held at once; any more are dropped as they arrive. */
    maxConnections: number;
    /** Express's `trust proxy`: whose X-Forwarded-For names the client (rate limits count that address). */
    trustProxy: boolean | number | string | string[];
  };
  publicBaseUrl: string;
  log: { level: string };
  db: { url: string | null; embeddedDir: string; pool: { min: number; max: number; acquireTimeoutMs: number } };
  auth: {
    keyCacheTtlMs: number;
    /** Most keys cached (LRU); unknown or revoked keys are cached more briefly in a smaller one. */
    keyCacheMax: number;
    negativeKeyCacheTtlMs: number;
    negativeKeyCacheMax: number;
    /** Keys the API key checksum (HMAC): only this service can make a key that passes it. Required in production. */
    keyChecksumSecret: string;
    revocationReconnectMinMs: number;
    revocationReconnectMaxMs: number;
  };
  /** Per client address, counted in the database so every instance shares them. */
  rateLimits: {
    authFailures: { max: number; windowSeconds: number };
    pagePosts: { max: number; windowSeconds: number };
    /** Addresses over a limit remembered in memory per instance (LRU), refused without a database round trip. */
    blockedAddressesMax: number;
  };
  invoices: { defaultDueDays: number; tokenBytes: number };
  demo: { seedKeys: boolean };
  stripe: {
    secretKey: string | null;
    webhookSecrets: string[];
    apiBase: string | null;
    maxNetworkRetries: number;
    timeoutMs: number;
    /** A call a litigant's page waits on (the return page, the pay button): this timeout, no retries. */
    pageTimeoutMs: number;
    checkout: { paymentMethodTypes: string[]; expiresInMinutes: number };
  };
  payments: { sweepAfterMinutes: number; sweepCron: string };
  jobs: { enabled: boolean };
  refunds: { sweepAfterMinutes: number; statutoryDueDays: number };
  callbacks: {
    enabled: boolean;
    timeoutMs: number;
    /** Wait before each retry, in seconds; after the last one the message is dead. */
    retryScheduleSeconds: number[];
    secretOverlapHours: number;
    /** Production: callback URLs must be https on one of these hosts (exact, or ".suffix"). */
    allowedHosts: string[];
    pollIntervalMs: number;
    /** Requests in flight per worker: chains (an invoice's due messages, sent in order) claimed and sent at once. */
    batchSize: number;
    overdueCron: string;
  };
  reconciliation: {
    cron: string;
    /** Where the processor's side comes from: the list API, or Stripe's Reporting API for large days. */
    source: 'list' | 'report';
    lateGraceDays: number;
    caseRecordsTimeoutMs: number;
    /** The case records answer is read up to this many bytes; a larger one skips the check (never read whole). */
    caseRecordsMaxBytes: number;
    /** An item whose amount (the larger of expected and actual, fen) is above this is resolved by one person and confirmed by another. */
    secondPersonAboveFen: number;
  };
  staff: {
    /** A session unused this long ends. */
    sessionIdleMinutes: number;
    /** A session ends this long after sign-in, however active. */
    sessionMaxHours: number;
    /** Sessions cached per instance (LRU), each for at most this long; sign-out and disabling reach every instance at once anyway. */
    sessionCacheMax: number;
    sessionCacheTtlMs: number;
    /** Failed sign-ins in a row that lock the login, and for how long. */
    maxFailedSignIns: number;
    lockMinutes: number;
    /** How long a set-password link works. */
    setPasswordHours: number;
    minPasswordLength: number;
    /** Single sign-on with the courts' identity provider (OpenID Connect), or null: its `loginClaim` names a staff login. */
    oidc: { issuer: string; clientId: string; clientSecret: string; loginClaim: string; label: string } | null;
  };
  idempotency: {
    /** An Idempotency-Key's answer is replayed for at least this long, then purged by the job. */
    ttlHours: number;
    /** How long a request waits for another still running with its key before 409 idempotency_in_progress. */
    claimWaitMs: number;
    purgeCron: string;
  };
  audit: {
    /** When the nightly job verifies the audit/ledger hash chains and publishes their heads (UTC). */
    verifyCron: string;
  };
  provinces: Record<string, ProvinceConfig>;
  courts: CourtConfig[];
}

const localFees = Joi.object({
  divorce: Joi.number().integer().min(0),
  personalityRights: Joi.number().integer().min(0),
  otherNonProperty: Joi.number().integer().min(0),
  ipNoAmount: Joi.number().integer().min(0),
  jurisdictionObjection: Joi.number().integer().min(0),
  enforcementNoAmount: Joi.number().integer().min(0),
});

/**
 * A job's schedule, read by cron-parser as both job runners read it (the in-process timers and
 * pg-boss), so what passes here is what runs. Five fields or a nickname (@daily): cron-parser alone
 * would take "0 3 * *" as minute *, hour 0, day 3, and six fields as a seconds field, which pg-boss
 * (checking its schedules once a minute) cannot keep.
 */
const cronExpression = Joi.string().custom((value: string, helpers) => {
  const fields = value.trim().split(/\s+/);
  if (fields.length !== 5 && !(fields.length === 1 && fields[0].startsWith('@'))) {
    return helpers.message({ custom: '{{#label}} must have five fields (minute hour day month weekday) or be a nickname such as @daily' });
  }
  try {
    cronParser.parseExpression(value, { tz: 'UTC' });
  } catch (e) {
    return helpers.message({ custom: '{{#label}} is not a cron expression ({{#reason}})' }, { reason: (e as Error).message });
  }
  return value;
});

const schema = Joi.object<Config>({
  env: Joi.string().valid('development', 'test', 'production').required(),
  http: Joi.object({
    port: Joi.number().integer().min(0).max(65535).required(),
    bodyLimit: Joi.string().required(),
    metricsPublic: Joi.boolean().required(),
    shutdownGraceMs: Joi.number().integer().min(0).required(),
    requestTimeoutMs: Joi.number().integer().min(1).required(),
    // Node refuses a header timeout longer than the whole request's.
    headersTimeoutMs: Joi.number().integer().min(1).max(Joi.ref('requestTimeoutMs')).required(),
    keepAliveTimeoutMs: Joi.number().integer().min(1).required(),
    maxConnections: Joi.number().integer().min(1).required(),
    trustProxy: Joi.alternatives(Joi.boolean(), Joi.number().integer().min(0), Joi.string(), Joi.array().items(Joi.string())).required(),
  }).required(),
  publicBaseUrl: Joi.string().uri({ scheme: ['http', 'https'] }).required(),
  log: Joi.object({ level: Joi.string().valid('error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly').required() }).required(),
  db: Joi.object({
    url: Joi.string().uri({ scheme: ['postgres', 'postgresql'] }).allow(null),
    embeddedDir: Joi.string().required(),
    pool: Joi.object({
      min: Joi.number().integer().min(0).required(),
      max: Joi.number().integer().min(1).required(),
      acquireTimeoutMs: Joi.number().integer().min(1).required(),
    }).required(),
  }).required(),
  auth: Joi.object({
    keyCacheTtlMs: Joi.number().integer().min(0).required(),
    keyCacheMax: Joi.number().integer().min(1).required(),
    negativeKeyCacheTtlMs: Joi.number().integer().min(0).required(),
    negativeKeyCacheMax: Joi.number().integer().min(1).required(),
    keyChecksumSecret: Joi.string().min(16).allow(null).required(),
    revocationReconnectMinMs: Joi.number().integer().min(10).required(),
    revocationReconnectMaxMs: Joi.number().integer().min(Joi.ref('revocationReconnectMinMs')).required(),
  }).required(),
  rateLimits: Joi.object({
    authFailures: Joi.object({ max: Joi.number().integer().min(1).required(), windowSeconds: Joi.number().integer().min(1).required() }).required(),
    pagePosts: Joi.object({ max: Joi.number().integer().min(1).required(), windowSeconds: Joi.number().integer().min(1).required() }).required(),
    blockedAddressesMax: Joi.number().integer().min(1).required(),
  }).required(),
  invoices: Joi.object({
    defaultDueDays: Joi.number().integer().min(1).max(90).required(),
    tokenBytes: Joi.number().integer().min(16).max(64).required(),
  }).required(),
  demo: Joi.object({ seedKeys: Joi.boolean().required() }).required(),
  stripe: Joi.object({
    secretKey: Joi.string().pattern(/^(sk|rk)_/).allow(null),
    webhookSecrets: Joi.array().items(Joi.string().pattern(/^whsec_/)).required(),
    apiBase: Joi.string().uri({ scheme: ['http', 'https'] }).allow(null),
    maxNetworkRetries: Joi.number().integer().min(0).max(5).required(),
    timeoutMs: Joi.number().integer().min(100).required(),
    pageTimeoutMs: Joi.number().integer().min(100).max(10000).required(),
    checkout: Joi.object({
      paymentMethodTypes: Joi.array().items(Joi.string().valid('card', 'alipay', 'wechat_pay')).min(1).unique().required(),
      // Stripe accepts Checkout expiries from 30 minutes to 24 hours.
      expiresInMinutes: Joi.number().integer().min(30).max(1440).required(),
    }).required(),
  }).required(),
  payments: Joi.object({
    sweepAfterMinutes: Joi.number().integer().min(1).required(),
    sweepCron: cronExpression.required(),
  }).required(),
  jobs: Joi.object({ enabled: Joi.boolean().required() }).required(),
  callbacks: Joi.object({
    enabled: Joi.boolean().required(),
    timeoutMs: Joi.number().integer().min(100).max(60000).required(),
    retryScheduleSeconds: Joi.array().items(Joi.number().integer().min(1)).min(1).required(),
    secretOverlapHours: Joi.number().integer().min(0).max(720).required(),
    allowedHosts: Joi.array().items(Joi.string().hostname().allow(Joi.string().pattern(/^\.[a-z0-9.-]+$/))).required(),
    pollIntervalMs: Joi.number().integer().min(50).required(),
    batchSize: Joi.number().integer().min(1).max(500).required(),
    overdueCron: cronExpression.required(),
  }).required(),
  reconciliation: Joi.object({
    cron: cronExpression.required(),
    source: Joi.string().valid('list', 'report').required(),
    lateGraceDays: Joi.number().integer().min(0).max(30).required(),
    caseRecordsTimeoutMs: Joi.number().integer().min(100).required(),
    caseRecordsMaxBytes: Joi.number().integer().min(1024).required(),
    secondPersonAboveFen: Joi.number().integer().min(0).required(),
  }).required(),
  staff: Joi.object({
    sessionIdleMinutes: Joi.number().positive().required(),
    sessionMaxHours: Joi.number().positive().required(),
    sessionCacheMax: Joi.number().integer().min(1).required(),
    sessionCacheTtlMs: Joi.number().integer().min(1).required(),
    maxFailedSignIns: Joi.number().integer().min(1).required(),
    lockMinutes: Joi.number().positive().required(),
    setPasswordHours: Joi.number().positive().required(),
    minPasswordLength: Joi.number().integer().min(8).max(128).required(),
    oidc: Joi.object({
      issuer: Joi.string().uri({ scheme: ['http', 'https'] }).required(),
      clientId: Joi.string().min(1).max(200).required(),
      clientSecret: Joi.string().min(1).required(),
      loginClaim: Joi.string().min(1).max(100).default('preferred_username'),
      label: Joi.string().min(1).max(60).required(),
    }).allow(null).required(),
  }).required(),
  idempotency: Joi.object({
    ttlHours: Joi.number().integer().min(1).max(720).required(),
    claimWaitMs: Joi.number().integer().min(1).max(60000).required(),
    purgeCron: cronExpression.required(),
  }).required(),
  audit: Joi.object({ verifyCron: cronExpression.required() }).required(),
  refunds: Joi.object({
    sweepAfterMinutes: Joi.number().integer().min(1).required(),
    statutoryDueDays: Joi.number().integer().min(1).max(60).required(),
  }).required(),
  provinces: Joi.object()
    .pattern(/^\d{2}$/, Joi.object({ name: Joi.string().required(), abbreviation: Joi.string().length(1).required(), fees: localFees.required() }))
    .min(1)
    .required(),
  courts: Joi.array()
    .items(
      Joi.object({
        code: Joi.string().pattern(/^\d{4,6}$/).required(),
        name: Joi.string().required(),
        level: Joi.string().valid('high', 'intermediate', 'basic').required(),
        province: Joi.string().required(),
        designation: Joi.string().pattern(/^\p{Script=Han}\d{0,4}$/u).required(),
        timeZone: Joi.string().required(),
        fees: localFees,
        caseRecordsUrl: Joi.string().uri({ scheme: ['http', 'https'] }),
      }),
    )
    .min(1)
    .unique('code')
    .unique('designation')
    .required(),
});

type Json = Record<string, unknown>;

function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b) ? deepMerge(b as Json, v as Json) : v;
  }
  return out;
}

function readJson(file: string): Json {
  if (!fs.existsSync(file)) return {};
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
  } catch (e) {
    throw new ConfigError(`${file}: ${(e as Error).message}`);
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

export class ConfigError extends Error {}

function fromEnvironment(env: NodeJS.ProcessEnv): Json {
  const o: Json = {};
  const set = (p: string, v: unknown) => {
    const keys = p.split('.');
    let cur = o;
    for (const k of keys.slice(0, -1)) cur = (cur[k] ??= {}) as Json;
    cur[keys[keys.length - 1]] = v;
  };
  if (env.NODE_ENV) set('env', env.NODE_ENV);
  if (env.PORT !== undefined && env.PORT !== '') set('http.port', Number.isNaN(Number(env.PORT)) ? env.PORT : Number(env.PORT));
  if (env.DATABASE_URL) set('db.url', env.DATABASE_URL);
  if (env.COURTPAY_DATA_DIR) set('db.embeddedDir', env.COURTPAY_DATA_DIR);
  if (env.LOG_LEVEL) set('log.level', env.LOG_LEVEL);
  if (env.PUBLIC_BASE_URL) set('publicBaseUrl', env.PUBLIC_BASE_URL);
  if (env.STRIPE_SECRET_KEY) set('stripe.secretKey', env.STRIPE_SECRET_KEY);
  if (env.STRIPE_WEBHOOK_SECRET) set('stripe.webhookSecrets', env.STRIPE_WEBHOOK_SECRET.split(',').map((s) => s.trim()).filter(Boolean));
  if (env.STRIPE_API_BASE) set('stripe.apiBase', env.STRIPE_API_BASE);
  if (env.API_KEY_CHECKSUM_SECRET) set('auth.keyChecksumSecret', env.API_KEY_CHECKSUM_SECRET);
  if (env.OIDC_CLIENT_SECRET) set('staff.oidc.clientSecret', env.OIDC_CLIENT_SECRET);
  return o;
}

/** The project's config/: two folders up from src/config/index.ts, three from the compiled dist/src/config/index.js. */
function projectConfigDir(): string {
  const candidates = [path.resolve(__dirname, '../../config'), path.resolve(__dirname, '../../../config')];
  return candidates.find((d) => fs.existsSync(path.join(d, 'default.json'))) ?? candidates[0];
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  dir?: string;
  overrides?: Json;
}

/** Loads, validates and freezes the configuration. Throws ConfigError naming the bad setting. */
export function loadConfig(opts: LoadOptions = {}): Readonly<Config> {
  const env = opts.env ?? process.env;
  const dir = opts.dir ?? env.COURTPAY_CONFIG_DIR ?? projectConfigDir();
  const nodeEnv = env.NODE_ENV || 'development';
  if (!fs.existsSync(path.join(dir, 'default.json'))) throw new ConfigError(`no default.json in ${dir}: set COURTPAY_CONFIG_DIR to the folder of the config files`);
  let raw = readJson(path.join(dir, 'default.json'));
  raw = deepMerge(raw, readJson(path.join(dir, `${nodeEnv}.json`)));
  raw = deepMerge(raw, readJson(path.join(dir, 'local.json')));
  raw = deepMerge(raw, fromEnvironment(env));
  if (opts.overrides) raw = deepMerge(raw, opts.overrides);
  // Links point at this very service unless a base URL is configured (a file, or PUBLIC_BASE_URL).
  const publicBaseUrlSet = raw.publicBaseUrl !== undefined;
  if (!publicBaseUrlSet && typeof (raw.http as Json)?.port === 'number') raw.publicBaseUrl = `http://localhost:${(raw.http as Json).port}`;

  const { value, error } = schema.validate(raw, { abortEarly: true, convert: false, allowUnknown: false });
  if (error) {
    const d = error.details[0];
    throw new ConfigError(`invalid setting ${d.path.join('.') || '(root)'}: ${d.message}`);
  }
  const cfg = value as Config;
  checkCrossReferences(cfg);
  checkProductionNeeds(cfg, publicBaseUrlSet);
  return deepFreeze(cfg);
}

function checkCrossReferences(cfg: Config): void {
  if (cfg.env === 'production' && !cfg.db.url) throw new ConfigError('invalid setting db.url (DATABASE_URL): required in production');
  if (cfg.env === 'production' && !cfg.stripe.secretKey) {
    throw new ConfigError('invalid setting stripe.secretKey (STRIPE_SECRET_KEY): the sandbox processor is refused in production');
  }
  if (!cfg.auth.keyChecksumSecret) {
    // Only production leaves it unset (config/production.json): a shared default would let anyone make keys that pass the checksum.
    throw new ConfigError('invalid setting auth.keyChecksumSecret (API_KEY_CHECKSUM_SECRET): required in production, at least 16 characters, the same for the service and the CLI');
  }
  for (const [code, p] of Object.entries(cfg.provinces)) {
    try {
      validateLocalAmounts(p.fees);
    } catch (e) {
      throw new ConfigError(`invalid setting provinces.${code}.fees: ${(e as Error).message}`);
    }
  }
  cfg.courts.forEach((c, i) => {
    const province = cfg.provinces[c.province];
    if (!province) throw new ConfigError(`invalid setting courts.${i}.province: unknown province "${c.province}"`);
    if (!c.designation.startsWith(province.abbreviation)) {
      throw new ConfigError(`invalid setting courts.${i}.designation: must start with the province abbreviation ${province.abbreviation}`);
    }
    if (!isTimeZone(c.timeZone)) throw new ConfigError(`invalid setting courts.${i}.timeZone: unknown time zone "${c.timeZone}"`);
    try {
      validateLocalAmounts({ ...province.fees, ...c.fees });
    } catch (e) {
      throw new ConfigError(`invalid setting courts.${i}.fees: ${(e as Error).message}`);
    }
  });
}

/** Production refuses what would start but not work: links to localhost, webhooks it cannot verify. */
function checkProductionNeeds(cfg: Config, publicBaseUrlSet: boolean): void {
  if (cfg.env !== 'production') return;
  const setting = 'invalid setting publicBaseUrl (PUBLIC_BASE_URL)';
  if (!publicBaseUrlSet) throw new ConfigError(`${setting}: required in production (the payment links handed out would say localhost)`);
  const base = new URL(cfg.publicBaseUrl);
  if (base.protocol !== 'https:') throw new ConfigError(`${setting}: must be https in production (a payment link carries the invoice's token)`);
  if (/^(localhost|127\.|0\.0\.0\.0$|\[::1?\]$)/i.test(base.hostname)) throw new ConfigError(`${setting}: must be the address litigants reach, not ${base.hostname}`);
  if (cfg.stripe.webhookSecrets.length === 0) {
    throw new ConfigError('invalid setting stripe.webhookSecrets (STRIPE_WEBHOOK_SECRET): required in production (every webhook would be refused)');
  }
  if (cfg.staff.oidc && new URL(cfg.staff.oidc.issuer).protocol !== 'https:') {
    throw new ConfigError('invalid setting staff.oidc.issuer: must be https in production (the sign-in and its tokens would travel in the clear)');
  }
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The fee amounts a court charges where the province sets them (court overrides province). */
export function localFeesFor(cfg: Config, courtCode: string): LocalFeeAmounts {
  const court = cfg.courts.find((c) => c.code === courtCode);
  if (!court) return {};
  return { ...cfg.provinces[court.province]?.fees, ...court.fees };
}
