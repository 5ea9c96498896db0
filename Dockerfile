# syntax=docker/dockerfile:1
# The gateway image. No build step: tsx (a runtime dependency) runs the TypeScript sources, so
# the runtime stage needs only production dependencies plus the sources.
#   docker build -t bff-gateway .
#   docker run -p 4000:4000 bff-gateway start --config gateway.yaml --demo
ARG NODE_IMAGE=node:20-bookworm-slim

# 1. Production dependencies only, from the lockfile (dev tools such as vitest stay out).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 2. Runtime: sources + production node_modules, owned by root and run as the unprivileged `node` user.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json gateway.yaml ./
COPY bin ./bin
COPY src ./src
COPY schema ./schema
COPY resolvers ./resolvers
COPY upstreams ./upstreams
USER node
EXPOSE 4000
# SIGTERM drains (in-flight requests finish within server.drainMs), then the process exits 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/gateway.js"]
CMD ["start", "--config", "gateway.yaml"]
