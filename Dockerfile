# syntax=docker/dockerfile:1
# tether agent image: the supervisor runs the agent; both are bundled by esbuild in the build
# stage (npm run build), so the runtime stage holds Node 24, the bundles and the packages of
# docker/runtime-packages (tini, the PostgreSQL and MariaDB clients).
#
#   docker build -t tether-agent --build-arg VERSION=0.1.0 .
#   docker run -d --name tether-agent --restart unless-stopped --network host \
#     -e TETHER_SERVER_URL -e TETHER_API_KEY -e TETHER_SIGNING_PUBLIC_KEY -v tether-state:/var/lib/tether tether-agent

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: install dependencies and bundle agent and supervisor -----------------------------
FROM node:24-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY agent/package.json agent/
COPY supervisor/package.json supervisor/
COPY hub/package.json hub/
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY shared/ shared/
COPY agent/ agent/
COPY supervisor/ supervisor/
COPY hub/ hub/
COPY tsconfig.base.json ./
COPY scripts/build.ts scripts/
ARG VERSION=0.0.0-dev
# The project's own build: entry files plus shared chunks (code splitting keeps the agent small).
RUN node scripts/build.ts --out /out --only agent,supervisor --version "${VERSION}"

# ---- runtime: slim Node 24, non-root user 65532 ------------------------------------------------
FROM ${NODE_IMAGE}
ARG VERSION=0.0.0-dev
ARG SOURCE=https://github.com/tether-project/tether
LABEL org.opencontainers.image.title="tether-agent" \
      org.opencontainers.image.description="tether remote host agent and its supervisor" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"

# docker/runtime-packages says what each package is for: tini as PID 1 (it forwards SIGTERM/SIGINT
# to the supervisor and reaps orphaned grandchildren that Node, as PID 1, would leave as zombies),
# and the PostgreSQL and MariaDB clients that database backups and restore tests run.
COPY docker/runtime-packages /tmp/runtime-packages
RUN apt-get update \
 && grep -v '^#' /tmp/runtime-packages | xargs apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages \
 && groupadd --gid 65532 tether \
 && useradd --uid 65532 --gid 65532 --home-dir /var/lib/tether --no-create-home --shell /usr/sbin/nologin tether \
 && install -d -o 65532 -g 65532 -m 0700 /var/lib/tether \
 && install -d -m 0755 /etc/tether /opt/tether

COPY --from=build /out/ /opt/tether/
RUN printf '%s\n' "${VERSION}" >/opt/tether/VERSION \
 && printf '#!/bin/sh\nexec node /opt/tether/agent.mjs "$@"\n' >/usr/local/bin/tether-agent \
 && printf '#!/bin/sh\nexec node /opt/tether/supervisor.mjs "$@"\n' >/usr/local/bin/tether-supervisor \
 && chmod 0755 /usr/local/bin/tether-agent /usr/local/bin/tether-supervisor

ENV NODE_ENV=production \
    TETHER_STATE_DIR=/var/lib/tether \
    TETHER_AGENT_ENTRY=/opt/tether/agent.mjs
# The agent key, hub URL and pinned hub signing key come from the environment (TETHER_API_KEY,
# TETHER_SERVER_URL, TETHER_SIGNING_PUBLIC_KEY); an
# optional policy file can be mounted read-only at /etc/tether/agent.yaml.
VOLUME ["/var/lib/tether"]
USER 65532:65532
WORKDIR /var/lib/tether

HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["tether-agent", "health-check"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/tether/supervisor.mjs", "run", "--state-dir", "/var/lib/tether", "--agent-entry", "/opt/tether/agent.mjs"]
