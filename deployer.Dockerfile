# The deployer agent and the git receiver, run together by `swarmlet platform`:
# `docker build -f deployer.Dockerfile .` from the repository root.
# It needs git (checkouts, receive-pack), bash (projects' entrypoints) and the docker CLI (`docker stack deploy`);
# the Engine is reached through the socket the stack mounts, its only privilege: no capability is added and it is
# not privileged. It runs as root because the socket's group differs from host to host, and whoever can use the
# socket is root on the host anyway; being root also lets it run each project's entrypoint as an unprivileged uid of
# the app's own (Docker's default capabilities SETUID, SETGID, CHOWN and KILL are all it needs), which reaches
# neither the socket nor the 0700 data volume nor the 0400 secrets.
# Where HTTPS to the npm registry is intercepted by a local CA, pass its PEM text as the build argument
# EXTRA_CA_CERTS; it is used by the build stages only and never reaches the final image.

FROM docker:cli AS docker-cli

FROM node:22-bookworm-slim AS manifests
WORKDIR /build
COPY package.json package-lock.json ./
COPY packages/common/package.json packages/common/
COPY packages/registry/package.json packages/registry/
COPY packages/deployer/package.json packages/deployer/
COPY packages/receiver/package.json packages/receiver/
COPY packages/cli/package.json packages/cli/

FROM manifests AS runtime-dependencies
ARG EXTRA_CA_CERTS=""
RUN printf '%s' "$EXTRA_CA_CERTS" > /tmp/extra-ca.pem \
 && NODE_EXTRA_CA_CERTS=/tmp/extra-ca.pem npm ci --no-audit --no-fund --ignore-scripts --omit=dev \
      --workspace @swarmlet/cli --workspace @swarmlet/receiver --workspace @swarmlet/deployer \
      --workspace @swarmlet/common \
 && rm /tmp/extra-ca.pem

FROM manifests AS build
ARG EXTRA_CA_CERTS=""
RUN printf '%s' "$EXTRA_CA_CERTS" > /tmp/extra-ca.pem \
 && NODE_EXTRA_CA_CERTS=/tmp/extra-ca.pem npm ci --no-audit --no-fund --ignore-scripts --include-workspace-root \
      --workspace @swarmlet/cli --workspace @swarmlet/receiver --workspace @swarmlet/deployer \
      --workspace @swarmlet/common \
 && rm /tmp/extra-ca.pem
COPY tsconfig.base.json tsconfig.json ./
COPY packages packages
RUN npx tsc -b packages/cli

FROM node:22-bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git ca-certificates \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/docker
ENV NODE_ENV=production \
    SWARMLET_DATA_DIR=/var/lib/swarmlet \
    SWARMLET_AUTHORIZED_KEYS=/var/lib/swarmlet/authorized_keys \
    SWARMLET_RUN_DIR=/run/swarmlet
WORKDIR /app
COPY --from=runtime-dependencies /build ./
COPY --from=build /build/packages/common/dist packages/common/dist
COPY --from=build /build/packages/deployer/dist packages/deployer/dist
COPY packages/deployer/dashboard packages/deployer/dashboard
COPY --from=build /build/packages/receiver/dist packages/receiver/dist
COPY --from=build /build/packages/cli/dist packages/cli/dist
COPY stacks stacks
RUN printf '#!/bin/sh\nexec node /app/packages/cli/dist/main.js "$@"\n' > /usr/local/bin/swarmlet \
 && chmod 0755 /usr/local/bin/swarmlet \
 && mkdir -p /var/lib/swarmlet && chmod 0700 /var/lib/swarmlet
VOLUME /var/lib/swarmlet
EXPOSE 2222
# The agent answering is health: a new task is healthy while its receiver still waits for the SSH port.
HEALTHCHECK --interval=5s --timeout=5s --start-period=10s --retries=3 CMD ["swarmlet", "health"]
ENTRYPOINT ["swarmlet"]
CMD ["platform"]
