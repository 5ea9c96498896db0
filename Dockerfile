# syntax=docker/dockerfile:1
# The gateway image: the engine and the domain's code compiled once in a build stage (tsc, as
# `npm ci` does through `prepare`), run by plain Node from production dependencies only.
#   docker build -t bff-gateway .
#   docker run -p 4000:4000 bff-gateway start --config gateway.yaml --demo
ARG NODE_IMAGE=node:20-bookworm-slim

# 1. Build: every dependency (TypeScript included), then dist/ from src/, resolvers/ and upstreams/.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY resolvers ./resolvers
COPY upstreams ./upstreams
RUN npm ci --no-audit --no-fund && npm run build

# 2. Production dependencies only, from the lockfile (dev tools such as tsx and vitest stay out).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. Runtime: compiled code + production node_modules + what the gateway reads at run time (SDL,
#    protos, the config), owned by root and run as the unprivileged `node` user.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json package-lock.json gateway.yaml ./
COPY bin ./bin
COPY schema ./schema
COPY upstreams ./upstreams
USER node
EXPOSE 4000
# SIGTERM drains (in-flight requests finish within server.drainMs), then the process exits 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/gateway.js"]
CMD ["start", "--config", "gateway.yaml"]
