# syntax=docker/dockerfile:1.7
# The mail-zone controller image: Node LTS, the production dependencies, the Pulumi CLI and the Cloudflare provider
# plugin at pinned versions, and the TypeScript sources run through tsx (see docs/controller.md, "Image").
#
#   docker build -t mail-zone-controller:dev .
#
# The CLI version follows the @pulumi/pulumi SDK in package-lock.json; the plugin version follows @pulumi/cloudflare.

ARG NODE_IMAGE=node:24.11.1-bookworm-slim
ARG PULUMI_VERSION=3.248.0
ARG CLOUDFLARE_PLUGIN_VERSION=6.22.1

# ---- production node_modules -------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- Pulumi CLI and provider plugin, checked against the published checksums ---------------------------------------
FROM ${NODE_IMAGE} AS pulumi
ARG PULUMI_VERSION
ARG CLOUDFLARE_PLUGIN_VERSION
ARG TARGETARCH
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /download
RUN set -eu; \
    case "${TARGETARCH:-amd64}" in arm64) cli=arm64; plugin=arm64 ;; *) cli=x64; plugin=amd64 ;; esac; \
    base="https://get.pulumi.com/releases"; \
    cli_tgz="pulumi-v${PULUMI_VERSION}-linux-${cli}.tar.gz"; \
    curl -fsSLO "${base}/sdk/${cli_tgz}"; \
    curl -fsSLO "${base}/sdk/pulumi-${PULUMI_VERSION}-checksums.txt"; \
    grep " ${cli_tgz}\$" "pulumi-${PULUMI_VERSION}-checksums.txt" | sha256sum -c -; \
    tar -xzf "${cli_tgz}" -C /opt; \
    plugin_tgz="pulumi-resource-cloudflare-v${CLOUDFLARE_PLUGIN_VERSION}-linux-${plugin}.tar.gz"; \
    curl -fsSLO "${base}/plugins/${plugin_tgz}"; \
    mkdir -p /opt/pulumi-plugins; \
    tar -xzf "${plugin_tgz}" -C /opt/pulumi-plugins; \
    # An executable on PATH named pulumi-resource-<name> is an "ambient" plugin: no download at run time.
    mv /opt/pulumi-plugins/pulumi-resource-cloudflare /opt/pulumi/; \
    /opt/pulumi/pulumi version

# ---- runtime -----------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    PATH=/opt/pulumi:${PATH} \
    PULUMI_SKIP_UPDATE_CHECK=true \
    DATA_DIR=/data \
    PORT=8080
WORKDIR /app
COPY --from=pulumi /opt/pulumi /opt/pulumi
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY components ./components
COPY stacks ./stacks
COPY controller ./controller
RUN mkdir -p /data && chown node:node /data
# The base image's unprivileged user (uid 1000); the Deployment also sets runAsNonRoot.
USER node
VOLUME ["/data"]
EXPOSE 8080
STOPSIGNAL SIGTERM
# node itself is PID 1's child-free process: SIGTERM reaches the controller directly (no npm or tsx wrapper).
CMD ["node", "--import", "tsx", "controller/main.ts"]
