import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import type { Knex } from 'knex';
import type { ApiKeyAuthenticator } from '../auth/api-key-store';
import { auditRoutes } from '../audit/routes';
import { callbackRoutes } from '../callbacks/routes';
import { caseRoutes } from '../cases/routes';
import { reconciliationRoutes } from '../reconciliation/routes';
import type { Config } from '../config';
import { courtRoutes } from '../courts/routes';
import { migrationsCurrent } from '../db/migrate';
import { feeRoutes } from '../fees/routes';
import { invoiceRoutes } from '../invoices/routes';
import { landingRoutes } from '../pages/landing';
import { pageRoutes } from '../pages/routes';
import type { Processor } from '../payments/processor';
import { paymentRoutes } from '../payments/routes';
import { refundRoutes } from '../refunds/routes';
import { consoleRoutes } from '../staff/console-routes';
import { oidcRoutes } from '../staff/oidc-routes';
import { staffRoutes } from '../staff/routes';
import { sessionSettings, StaffSessions } from '../staff/sessions';
import { stripeWebhookEndpoint } from '../webhooks/endpoint';
import { STRIPE_WEBHOOK_BODY_LIMIT, webhookRoutes } from '../webhooks/routes';
import { DatabaseUnavailableError, NotFoundError } from '../shared/errors';
import { createMetrics } from './metrics';
import { mountRoutes } from './mount';
import { authFailureLimiter } from './rate-limit';
import { renderDocs } from './docs-page';
import { buildOpenApi } from './openapi';
import { problemHandler } from './problem';
import { requestContext } from './request-context';
import type { RouteDef } from './route';
import { json, ref } from './schemas';

export interface AppDeps {
  knex: Knex;
  config: Readonly<Config>;
  authenticator: ApiKeyAuthenticator;
  processor: Processor;
  /** The sandbox processor's own pages (checkout), mounted at /sandbox when it runs. */
  sandboxPages?: express.Router | null;
  /** Staff sessions (made here on the authenticator's listener unless given, e.g. with a test's clock). */
  sessions?: StaffSessions;
}

/** Every keyed API route, in one list: mounted from it, documented from it, access-tested from it. */
export function apiRoutes(processor: Processor): RouteDef[] {
  return [
    ...courtRoutes, ...feeRoutes, ...caseRoutes, ...invoiceRoutes, ...paymentRoutes, ...refundRoutes(processor),
    ...reconciliationRoutes(processor), ...callbackRoutes(), ...staffRoutes, ...auditRoutes,
  ];
}

interface ServiceParts {
  metricsText: () => Promise<string>;
  metricsType: string;
  openapi: () => unknown;
  docs: () => string;
}

function serviceRoutes(deps: AppDeps, parts: ServiceParts): RouteDef[] {
  let migrated = false;
  return [
    {
      method: 'get', path: '/healthz', summary: 'The process is alive', tag: 'service', access: 'public', responses: { 200: json('{ status: "ok" }', ref('Status')) },
      async read() {
        return { status: 200, body: { status: 'ok' } };
      },
    },
    {
      method: 'get', path: '/readyz', summary: 'Database reachable and migrations current', tag: 'service', access: 'public', responses: { 200: json('ready', ref('Status')), 503: json('not ready: { status: "migrations_pending" }, or a problem when the database is unreachable', { oneOf: [ref('Status'), ref('Problem')] }) },
      async read({ db }) {
        try {
          await db.raw('select 1');
          migrated ||= await migrationsCurrent(db);
          if (!migrated) return { status: 503, body: { status: 'migrations_pending' } };
          return { status: 200, body: { status: 'ready' } };
        } catch {
          throw new DatabaseUnavailableError();
        }
      },
    },
    {
      method: 'get', path: '/metrics', summary: 'Prometheus metrics', tag: 'service', access: deps.config.http.metricsPublic ? 'public' : ['admin'], produces: 'text/plain',
      responses: { 200: 'Prometheus text format' },
      async read({ res }) {
        res.type(parts.metricsType);
        return { status: 200, body: await parts.metricsText() };
      },
    },
    {
      method: 'get', path: '/openapi.json', summary: 'This API described (OpenAPI 3)', tag: 'service', access: 'public', responses: { 200: json('OpenAPI document', { type: 'object', required: ['openapi', 'paths'] }) },
      async read() {
        return { status: 200, body: parts.openapi() };
      },
    },
    {
      method: 'get', path: '/docs', summary: 'This API as a page', tag: 'service', access: 'public', produces: 'text/html', responses: { 200: 'HTML' },
      async read({ res }) {
        res.type('html');
        return { status: 200, body: parts.docs() };
      },
    },
  ];
}

/** The service's HTTP handler: what http.createServer serves, and what tests hand to supertest. */
export type App = ((req: IncomingMessage, res: ServerResponse) => void) & {
  /** The Express app behind it: every route but the webhook's plain case. */
  express: express.Express;
};

/** The headers a middleware sets, recorded once (helmet's are all fixed here), for responses served without Express. */
function headersSetBy(middleware: RequestHandler): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = { setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)), removeHeader: () => undefined };
  let finished = false;
  void middleware({} as Request, recorder as unknown as Response, () => void (finished = true));
  if (!finished) throw new Error('the security headers middleware did not finish at once: its headers cannot be recorded');
  return headers;
}

export function buildApp(deps: AppDeps): App {
  const app = express();
  const metrics = createMetrics();
  const service = serviceRoutes(deps, {
    metricsText: () => metrics.registry.metrics(),
    metricsType: metrics.registry.contentType,
    openapi: () => openapi,
    docs: () => docs,
  });
  const webhooks = webhookRoutes(deps.processor);
  const sessions = deps.sessions ?? new StaffSessions(deps.knex, sessionSettings(deps.config), deps.authenticator);
  const signInLimiter = authFailureLimiter(deps.knex, deps.config);
  const consolePages = [...consoleRoutes(sessions, signInLimiter), ...oidcRoutes(sessions, signInLimiter, deps.config)];
  const documented = [...service, ...landingRoutes(Boolean(deps.sandboxPages)), ...apiRoutes(deps.processor), ...webhooks, ...pageRoutes(deps.processor), ...consolePages];
  const openapi = buildOpenApi(documented, deps.config.publicBaseUrl);
  const docs = renderDocs(openapi);
  // HSTS and upgrade-insecure-requests only where the service is reached over https: on plain-HTTP
  // development they would have the browser upgrade http://localhost requests to https, which no one answers.
  const https = deps.config.env === 'production' || new URL(deps.config.publicBaseUrl).protocol === 'https:';
  const security = helmet({
    // After the pay button, the browser follows a redirect to the processor's checkout page.
    contentSecurityPolicy: { directives: { 'form-action': ["'self'", 'https://checkout.stripe.com'], 'upgrade-insecure-requests': https ? [] : null } },
    strictTransportSecurity: https,
  });

  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', deps.config.http.trustProxy);
  app.use(requestContext);
  app.use(metrics.middleware);
  app.use(security);
  // Webhooks are verified over the exact bytes Stripe signed; pages post plain forms.
  app.use('/webhooks', express.raw({ type: '*/*', limit: STRIPE_WEBHOOK_BODY_LIMIT }));
  app.use('/pay', express.urlencoded({ extended: false, limit: '10kb' }));
  app.use('/console', express.urlencoded({ extended: false, limit: '10kb' }));
  app.use(express.json({ limit: deps.config.http.bodyLimit, strict: true, type: 'application/json' }));

  const router = express.Router();
  mountRoutes(router, documented, { ...deps, sessions });
  app.use(router);
  if (deps.sandboxPages) app.use('/sandbox', deps.sandboxPages);
  app.use(() => {
    throw new NotFoundError('route', 'route_not_found');
  });
  app.use(problemHandler);

  // The processor's deliveries, in the plain case, are answered before Express sees them.
  const webhook = stripeWebhookEndpoint({ knex: deps.knex, config: deps.config, processor: deps.processor, metrics, headers: headersSetBy(security) });
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (!webhook(req, res)) app(req, res);
  };
  return Object.assign(handle, { express: app });
}
