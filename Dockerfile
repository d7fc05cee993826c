# syntax=docker/dockerfile:1.7
# The mail-zone controller image: Node LTS, the production dependencies, the Pulumi CLI and the Cloudflare and
# Kubernetes provider plugins at pinned versions, and the TypeScript sources run through tsx (see docs/controller.md, "Image").
#
#   docker build -t mail-zone-controller:dev .
#
# The CLI version follows the @pulumi/pulumi SDK in package-lock.json; the plugin versions follow @pulumi/cloudflare
# and @pulumi/kubernetes (the site stacks' web certificates, SITE_WEB_TLS_ISSUER).

ARG NODE_IMAGE=node:24.11.1-bookworm-slim
ARG PULUMI_VERSION=3.248.0
ARG CLOUDFLARE_PLUGIN_VERSION=6.22.1
ARG KUBERNETES_PLUGIN_VERSION=4.34.2

# ---- production node_modules -------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- Pulumi CLI (checked against the published checksums) and provider plugins -----------------------------------
FROM ${NODE_IMAGE} AS pulumi
ARG PULUMI_VERSION
ARG CLOUDFLARE_PLUGIN_VERSION
ARG KUBERNETES_PLUGIN_VERSION
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
    mkdir -p /opt/pulumi-plugins; \
    for spec in "cloudflare:${CLOUDFLARE_PLUGIN_VERSION}" "kubernetes:${KUBERNETES_PLUGIN_VERSION}"; do \
      name="${spec%%:*}"; version="${spec#*:}"; \
      plugin_tgz="pulumi-resource-${name}-v${version}-linux-${plugin}.tar.gz"; \
      curl -fsSLO "${base}/plugins/${plugin_tgz}"; \
      mkdir -p "/opt/pulumi-plugins/${name}"; \
      tar -xzf "${plugin_tgz}" -C "/opt/pulumi-plugins/${name}"; \
      # An executable on PATH named pulumi-resource-<name> is an "ambient" plugin: no download at run time.
      mv "/opt/pulumi-plugins/${name}/pulumi-resource-${name}" /opt/pulumi/; \
    done; \
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
