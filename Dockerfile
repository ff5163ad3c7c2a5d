# courtpay: court-fee payment and refund service.
#
#   docker build -t courtpay .
#   docker run -p 3000:3000 \
#     -e DATABASE_URL=postgres://user:pass@db:5432/courtpay \
#     -e STRIPE_SECRET_KEY=sk_live_... -e STRIPE_WEBHOOK_SECRET=whsec_... \
#     -e PUBLIC_BASE_URL=https://pay.courts.example \
#     -e API_KEY_CHECKSUM_SECRET=... \
#     courtpay
#
# Required at run time (NODE_ENV=production refuses to start without them, naming the setting):
#   DATABASE_URL       the Postgres to use; there is no embedded database in production.
#                      Migrations run at start-up.
#   STRIPE_SECRET_KEY  sk_... or rk_...; the local sandbox processor is refused in production.
#   STRIPE_WEBHOOK_SECRET  endpoint signing secret(s), comma-separated during rotation.
#   PUBLIC_BASE_URL        https base of the payment links handed out (not localhost).
#   API_KEY_CHECKSUM_SECRET  keys the API keys' checksum (16+ characters); the same for the service
#                      and for `keys create`, and never changed once keys are issued.
# Optional: PORT (3000), LOG_LEVEL (info), STRIPE_API_BASE.
# Config files are read from /app/config (COURTPAY_CONFIG_DIR); to override them, mount a
# local.json there, e.g. -v $PWD/local.json:/app/config/local.json:ro.

# Node 24 (LTS) in both stages; package.json's engines also admit 20.6+ and 22, and the test suite
# runs on Node 20 where the image cannot be built (see the README's "Node.js versions").
# ---- build: compile src/ and db/ into dist/ --------------------------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Only tsc runs here: no install script is needed (ours makes the embedded database's templates for
# development; the dependencies' fetch or build native code the runtime stage installs itself).
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY db ./db
# tsconfig rootDir "." → dist/src/main.js, dist/src/db/migrate.js and dist/db/migrations/*.js
# (migrate.js loads ../../db/migrations relative to itself, i.e. dist/db/migrations).
RUN npm run build

# ---- runtime: production dependencies, compiled code and config only ---------------------
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    COURTPAY_CONFIG_DIR=/app/config \
    PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
# package.json's postinstall names this file; with NODE_ENV=production it does nothing. The approved
# install scripts (allowScripts: argon2 picks its prebuilt binding) run as npm ci runs them.
COPY scripts/postinstall.cjs ./scripts/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
# The code and config stay root-owned and read-only to the service; only .data (the embedded
# database folder, used only if someone runs the image in development without DATABASE_URL)
# is writable by it.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 3000
# The slim image has no curl: ask /healthz with Node's own fetch.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1; the service handles SIGTERM (drains requests, closes the pool).
CMD ["node", "dist/src/main.js"]
