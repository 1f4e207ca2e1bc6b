# The embedded registry: `docker build -f registry.Dockerfile .` from the repository root.
# Runs as the unprivileged `node` user, stores data under /var/lib/registry, and is configured like the CNCF
# registry (REGISTRY_* variables or a config file given to `serve`).
# Where HTTPS to the npm registry is intercepted by a local CA, pass its PEM text as the build argument
# EXTRA_CA_CERTS; it is used by the build stages only and never reaches the final image.

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
      --workspace @swarmlet/registry --workspace @swarmlet/common \
 && rm /tmp/extra-ca.pem

FROM manifests AS build
ARG EXTRA_CA_CERTS=""
RUN printf '%s' "$EXTRA_CA_CERTS" > /tmp/extra-ca.pem \
 && NODE_EXTRA_CA_CERTS=/tmp/extra-ca.pem npm ci --no-audit --no-fund --ignore-scripts \
      --workspace @swarmlet/registry --workspace @swarmlet/common --include-workspace-root \
 && rm /tmp/extra-ca.pem
COPY tsconfig.base.json tsconfig.json ./
COPY packages/common packages/common
COPY packages/registry packages/registry
RUN npx tsc -b packages/registry

# The registry forwarder (packages/registry/src/forwarder): plain Node.js and one directory, no dependency.
# `docker build --target forwarder` builds it; install.sh builds it, and install.sh --join on each new node. The
# swarm runs it on the nodes without the registry in host publish mode (stacks/forwarder), and beside the deployer
# as the dashboard's way in from the router (stacks/deployer).
FROM node:22-bookworm-slim AS forwarder
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /build/packages/registry/dist/forwarder packages/registry/dist/forwarder
USER node
EXPOSE 5000
ENTRYPOINT ["node", "/app/packages/registry/dist/forwarder/main.js"]

# The registry (the default target: the last stage).
FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/var/lib/registry
WORKDIR /app
COPY --from=runtime-dependencies /build ./
COPY --from=build /build/packages/common/dist packages/common/dist
COPY --from=build /build/packages/registry/dist packages/registry/dist
RUN mkdir -p /var/lib/registry && chown node:node /var/lib/registry
USER node
VOLUME /var/lib/registry
EXPOSE 5000
# /v2/ on the configured address is the health check; with htpasswd auth on, its 401 still means healthy.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "/app/packages/registry/dist/main.js", "healthcheck"]
ENTRYPOINT ["node", "/app/packages/registry/dist/main.js"]
CMD ["serve"]
