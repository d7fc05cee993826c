/**
 * Files the init step writes into the release's data/ tree at every start (ConfigMap `mailcow-overrides`), each
 * answering a Kubernetes blocker: relay and PROXY trust, names that `dig` asks, SOGo's trust of its fixed address,
 * and the TLS files acme used to write. No upstream file is copied here; upstream files are patched in the pod.
 */
import { dockerapiNetworkName, IN_POD_NAMES, LOOPBACK, LOOPBACK_IPV4_NETWORK } from "./catalogue";

/** Postfix extra.cf: postfix.sh appends it to main.cf, so this `mynetworks` wins over `mynetworks_style = subnet`. */
export function postfixExtraCf(extra: string): string {
  return [
    "# Written by mail-zone at every start; edit mail-zone:mailcow.postfixExtra instead.",
    "# Only loopback (the containers of the Mailcow pod) may relay: connections that Traefik, klipper-lb or",
    "# kube-proxy hand over from cluster addresses must never match mynetworks.",
    "mynetworks = 127.0.0.0/8 [::1]/128",
    extra.trim(),
    "",
  ].join("\n");
}

/** Dovecot extra.conf: who may send PROXY headers to the haproxy listeners (10143, 10993, …). */
export function dovecotExtraConf(trusted: readonly string[], extra: string): string {
  return [
    "# Written by mail-zone at every start; edit mail-zone:mailcow.dovecotExtra instead.",
    `haproxy_trusted_networks = ${trusted.join(" ")}`,
    extra.trim(),
    "",
  ].join("\n");
}

export const UNBOUND_BEGIN = "# BEGIN mail-zone";
export const UNBOUND_END = "# END mail-zone";

/**
 * Appended to unbound.conf: every in-pod name answers 127.0.0.1, for tools that ask DNS directly (rspamd's
 * `dig a dovecot`, curl to dockerapi.<project>_mailcow-network, which hostAliases cannot hold).
 */
export function unboundLocalData(project: string): string {
  const names = [...IN_POD_NAMES, dockerapiNetworkName(project)];
  return [
    UNBOUND_BEGIN,
    "server:",
    ...names.map((n) => `  local-data: "${n}. IN A ${LOOPBACK}"`),
    UNBOUND_END,
    "",
  ].join("\n");
}

/**
 * A dovecot hook (run by its entrypoint after it wrote sogo_trusted_ip.conf and sogo-sso.conf): SOGo's connections
 * come from 127.0.0.1 in the shared pod, not from ${IPV4_NETWORK}.248, since the kernel picks 127.0.0.1 as the
 * source of every loopback connection.
 */
export function dovecotSogoHook(): string {
  return [
    "#!/bin/bash",
    "# mail-zone: SOGo reaches dovecot from 127.0.0.1 inside the Mailcow pod.",
    `sed -i "s#allow_nets=\${IPV4_NETWORK}.248/32#allow_nets=${LOOPBACK}/32#" /etc/dovecot/sogo-sso.conf`,
    `sed -i "s#^remote \${IPV4_NETWORK}.248 {#remote ${LOOPBACK} {#" /etc/dovecot/sogo_trusted_ip.conf`,
    "",
  ].join("\n");
}

/** Where the tree volume is mounted in the init container. */
export const TREE_MOUNT = "/srv/mailcow";

/**
 * The init step, after fetch-release.js downloaded (and, when pinned, checksummed) the tarball: verify that the
 * tree belongs to the images the pod runs, unpack it over the tree (files upstream ships are replaced, local ones
 * stay, as `update.sh` does), then write the overrides and the TLS files.
 */
export function initScript(): string {
  return `#!/bin/sh
# mail-zone: bring the pinned mailcow-dockerized data/ tree to the pod, then apply the zone's overrides.
set -eu
cd ${TREE_MOUNT}
if [ "$(cat .mail-zone-release 2>/dev/null || true)" != "$RELEASE" ]; then
  node /overrides/fetch-release.js
  rm -rf /tmp/release && mkdir -p /tmp/release
  tar -xzf "$RELEASE_FILE" -C /tmp/release --strip-components=1
  # The tree must match the images: every image of this pod appears in the release's compose file.
  for image in $EXPECTED_IMAGES; do
    awk -v want="$image" '$1 == "image:" && $2 == want { found = 1 } END { exit !found }' /tmp/release/docker-compose.yml \\
      || { echo "release $RELEASE does not run $image: refusing this tree"; exit 1; }
  done
  mkdir -p data
  cp -a /tmp/release/data/. data/
  cp /tmp/release/docker-compose.yml docker-compose.yml
  echo "$RELEASE" > .mail-zone-release
  rm -rf /tmp/release "$RELEASE_FILE"
  echo "mailcow-dockerized $RELEASE unpacked"
fi

# Mount sources the kubelet would otherwise create as directories.
for f in $FILE_SUBPATHS; do [ -e "$f" ] || { mkdir -p "$(dirname "$f")"; touch "$f"; }; done
for d in $DIR_SUBPATHS; do mkdir -p "$d"; done

# Relay and PROXY trust.
cp /overrides/postfix-extra.cf data/conf/postfix/extra.cf
cp /overrides/dovecot-extra.conf data/conf/dovecot/extra.conf

# Names that dig and curl ask the resolver for.
sed -i '/^${UNBOUND_BEGIN}$/,/^${UNBOUND_END}$/d' data/conf/unbound/unbound.conf
cat /overrides/unbound-local.conf >> data/conf/unbound/unbound.conf

# SOGo's fixed address (.248) is 127.0.0.1 here.
mkdir -p data/hooks/dovecot
cp /overrides/dovecot-sogo-hook.sh data/hooks/dovecot/90-mail-zone-sogo-loopback.sh
chmod 755 data/hooks/dovecot/90-mail-zone-sogo-loopback.sh
AUTH=data/conf/dovecot/auth/mailcowauth.php
if grep -q "getenv('IPV4_NETWORK') . '.248'" "$AUTH"; then
  sed -i "s/getenv('IPV4_NETWORK') \\. '\\.248'/'${LOOPBACK}'/" "$AUTH"
elif ! grep -q "'${LOOPBACK}'" "$AUTH"; then
  echo "WARNING: $AUTH no longer compares real_rip with IPV4_NETWORK.248; SOGo SSO may fail (docs/upgrading-mailcow.md)"
fi

# TLS files where postfix, dovecot and nginx read them (acme wrote them upstream).
cp /tls/tls.crt /ssl/cert.pem
cp /tls/tls.key /ssl/key.pem
chmod 600 /ssl/key.pem
cp data/assets/ssl-example/dhparams.pem /ssl/dhparams.pem
echo "overrides applied (IPV4_NETWORK=${LOOPBACK_IPV4_NETWORK})"
`;
}
