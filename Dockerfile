# One image for the API (default command), the worker and the CLI:
#   API     node dist/apps/api/src/main.js            (default CMD)
#   worker  node dist/apps/worker/src/main.js
#   CLI     node dist/apps/cli/src/main.js <command>  e.g. migration:show, db:create, token --role …
# Run the entry points with `node`, not `npm run …`: the npm scripts' pre-hooks (scripts/ensure-*.js)
# expect the TypeScript sources and dev tooling, which the runtime image does not contain.
#
# The image defaults to NODE_ENV=production, which REQUIRES real secrets (JWT_SECRET or
# JWT_ALGORITHM=RS256 + JWT_PUBLIC_KEY, BSN_ENCRYPTION_KEYS, BSN_INDEX_KEY,
# MESSAGE_FINGERPRINT_KEY, TTP_STAGE1_KEY, TTP_KEYS, AUDIT_CHECKPOINT_KEY): see .env.example.
# Without them the process exits with code 78. Migrate with the owner's DATABASE_URL
# (`node dist/apps/cli/src/main.js migration:run`), then run the API and the worker as the roles
# ggz_api / ggz_worker (docs/SECURITY.md, "Database roles").

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- deps: every dependency (dev included), from the lock file only --------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# swagger-ui-dist pulls in @scarf/scarf, whose install script phones home; keep builds offline-clean.
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# ---- build: compile, then drop dev dependencies ------------------------------------------------
FROM deps AS build
COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY apps ./apps
COPY libs ./libs
COPY migrations ./migrations
RUN npm run build \
 && test -f dist/apps/api/src/main.js \
 && test -f dist/apps/worker/src/main.js \
 && test -f dist/apps/cli/src/main.js \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: compiled JS + production dependencies, non-root ----------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
# Files stay owned by root (read-only for the app); the process runs as the image's `node` user.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# Liveness only (the process answers HTTP); readiness (/health/ready) is for the orchestrator.
# The worker has no HTTP server: disable or replace this check when running the worker.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:${PORT:-3000}/health/live', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# Nest's shutdown hooks handle SIGTERM (the default stop signal) for a graceful stop.
CMD ["node", "dist/apps/api/src/main.js"]
