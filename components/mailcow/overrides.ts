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

/**
 * Dovecot extra.conf: who may send PROXY headers to the haproxy listeners (10143, 10993, …), and loopback for the
 * two listeners only the pod's own Postfix uses: LMTP (24) delivers into any mailbox without authentication, and
 * the auth service (10001) takes the client address (`rip`) from its caller, so anything reaching the pod IP could
 * inject mail or pose as SOGo (127.0.0.1 here). Upstream's listeners are named, so these sections amend them.
 */
export function dovecotExtraConf(trusted: readonly string[], extra: string): string {
  return [
    "# Written by mail-zone at every start; edit mail-zone:mailcow.dovecotExtra instead.",
    `haproxy_trusted_networks = ${trusted.join(" ")}`,
    "# Postfix (lmtp:inet:dovecot:24, inet:dovecot:10001) is in this pod: nothing outside it needs these.",
    `service lmtp {\n  inet_listener lmtp-inet {\n    address = ${LOOPBACK}\n  }\n}`,
    `service auth {\n  inet_listener auth-inet {\n    address = ${LOOPBACK}\n  }\n}`,
    extra.trim(),
    "",
  ].join("\n");
}

export const UNBOUND_BEGIN = "# BEGIN mail-zone";
export const UNBOUND_END = "# END mail-zone";

/**
 * Appended to unbound.conf: every in-pod name answers 127.0.0.1, for tools that ask DNS directly (rspamd's
 * `dig a dovecot`, curl to dockerapi.<project>_mailcow-network, which hostAliases cannot hold).
 *
 * `interface-automatic: yes`: upstream's unbound listens on the wildcard address, so a reply leaves from the
 * kernel's choice (127.0.0.1) whatever address the query went to. postfix-tlspol's baked-in config asks
 * 127.0.0.11 (Docker's embedded resolver) from a connected UDP socket, which drops a reply from any other address:
 * every TLS policy lookup would be TEMP and every outbound delivery defer. With it, unbound answers from the address
 * asked (127.0.0.11, 127.0.0.254 = IPV4_NETWORK.254, …), all in 127.0.0.0/8, which unbound allows by default.
 */
/**
 * Upstream's unbound.conf allows recursion from 10/8, 172.16/12, 192.168/16, fc00::/7 and fe80::/10 (every Docker
 * network); here the pod IP is in the cluster's pod network, so that would serve every pod of the cluster. unbound
 * takes the most specific matching block and ignores a repeated one, so each allowed block is refused in its two
 * halves; loopback (unbound's built-in allow), where every client of this pod asks, stays open.
 */
export const UNBOUND_REFUSED_HALVES = [
  "10.0.0.0/9",
  "10.128.0.0/9",
  "172.16.0.0/13",
  "172.24.0.0/13",
  "192.168.0.0/17",
  "192.168.128.0/17",
  "fc00::/8",
  "fd00::/8",
  "fe80::/11",
  "fea0::/11",
] as const;

export function unboundLocalData(project: string): string {
  const names = [...IN_POD_NAMES, dockerapiNetworkName(project)];
  return [
    UNBOUND_BEGIN,
    "server:",
    "  interface-automatic: yes",
    ...UNBOUND_REFUSED_HALVES.map((block) => `  access-control: ${block} refuse`),
    ...names.map((n) => `  local-data: "${n}. IN A ${LOOPBACK}"`),
    UNBOUND_END,
    "",
  ].join("\n");
}

/** Files the init step writes beside upstream's Postfix config (cidr maps of the forged-loopback guard). */
export const POSTFIX_GUARD_FILES = {
  smtpd: "mail-zone-proxy-clients.cidr",
  postscreen: "mail-zone-proxy-postscreen.cidr",
} as const;
const POSTFIX_CONF = "/opt/postfix/conf";

/**
 * check_client_access map for the PROXY smtpd services (10465, 10587): a client address from a PROXY header can be
 * forged by anything that reaches the pod IP, and 127.0.0.0/8 is mynetworks (permit_mynetworks → relay). Traefik
 * only ever sends real client addresses, so a loopback one on these ports is always forged.
 */
export function postfixProxyClientsCidr(): string {
  return [
    "# Written by mail-zone: a PROXY header claiming loopback is forged (the real in-pod clients use 588/589/590).",
    "127.0.0.0/8 REJECT forged loopback client",
    "::1/128 REJECT forged loopback client",
    "",
  ].join("\n");
}

/** postscreen_access_list map for 10025 (postscreen hands over to the smtpd shared with port 25). */
export function postfixProxyPostscreenCidr(): string {
  return ["# Written by mail-zone: see mail-zone-proxy-clients.cidr.", "127.0.0.0/8 reject", "::1/128 reject", ""].join(
    "\n",
  );
}

/**
 * An awk program over upstream's master.cf: 10025 (postscreen) gets an access list that rejects forged loopback
 * clients ahead of upstream's own list (main.cf's postscreen_access_list of the release, restated: a service can
 * only replace it) and drops them; 10465 and 10587 get the check_client_access map in front of their
 * smtpd_client_restrictions. The init step refuses to start Postfix if the three guards are not all in place.
 */
export function postfixMasterAwk(): string {
  const smtpdMap = `cidr:${POSTFIX_CONF}/${POSTFIX_GUARD_FILES.smtpd}`;
  const screenMap = `cidr:${POSTFIX_CONF}/${POSTFIX_GUARD_FILES.postscreen}`;
  const upstreamScreen = [
    "permit_mynetworks",
    `cidr:${POSTFIX_CONF}/custom_postscreen_whitelist.cidr`,
    `cidr:${POSTFIX_CONF}/postscreen_access.cidr`,
    "tcp:127.0.0.1:10027",
  ].join(",");
  return [
    "# mail-zone: forged-loopback guard on the PROXY listeners (docs/mailcow-on-kubernetes.md).",
    "/^[^ \\t#]/ { service = $1 }",
    "{ print_after = 0 }",
    "/^10025[ \\t]/ && $0 ~ /postscreen/ { print_after = 1 }",
    `(service == "10465" || service == "10587") && /^[ \\t]+-o smtpd_client_restrictions=/ && index($0, "mail-zone-proxy") == 0 {`,
    `  sub(/smtpd_client_restrictions=/, "smtpd_client_restrictions=check_client_access,${smtpdMap},")`,
    "}",
    "{ print }",
    "print_after {",
    `  print "  -o postscreen_access_list=${screenMap},${upstreamScreen}"`,
    '  print "  -o postscreen_denylist_action=drop"',
    "}",
    "",
  ].join("\n");
}

/** SOGo's worker count and listen address in sogo.conf (WOWorkersCount, WOPort), as the init step writes them. */
export function sogoConfSed(workers: number): string {
  const assign = (key: string, value: string) =>
    `s#^\\([[:space:]]*${key}[[:space:]]*=[[:space:]]*\\)"[^"]*"#\\1"${value}"#`;
  return [assign("WOPort", `${LOOPBACK}:20000`), assign("WOWorkersCount", String(workers))].join(";");
}

/**
 * Files of the tree the init step rewrites at every start (from the overrides): they are derived, never the
 * operator's edits, so the keep-edits rule of unpack-release.sh skips them.
 */
export const OVERRIDE_WRITTEN_FILES: readonly string[] = [
  "data/conf/postfix/extra.cf",
  "data/conf/postfix/master.cf",
  `data/conf/postfix/${POSTFIX_GUARD_FILES.smtpd}`,
  `data/conf/postfix/${POSTFIX_GUARD_FILES.postscreen}`,
  "data/conf/dovecot/extra.conf",
  "data/conf/dovecot/auth/mailcowauth.php",
  "data/conf/unbound/unbound.conf",
  "data/conf/sogo/sogo.conf",
  "data/hooks/dovecot/90-mail-zone-sogo-loopback.sh",
];

/**
 * Where the Mailcow UI writes into the tracked tree (kept on a release change when no manifest of the last unpack
 * exists yet, i.e. on a tree unpacked before this rule existed).
 */
export const UI_WRITTEN_PATHS: readonly string[] = [
  "data/conf/rspamd/custom",
  "data/conf/dovecot/global_sieve_before",
  "data/conf/dovecot/global_sieve_after",
];

export const MANIFEST_FILE = ".mail-zone-manifest";

/**
 * Unpacks a release over the tree, as upstream's update.sh keeps local edits (it commits them and merges): a file
 * whose content differs from what the last unpack wrote (the manifest) was changed here (the UI writes rspamd maps
 * and global sieve scripts) and is kept; one that upstream changed too is kept with a warning to merge by hand.
 * Files that exist only here stay. Usage: `sh unpack-release.sh <unpacked release dir>`, run in the tree.
 */
export function unpackScript(): string {
  return `#!/bin/sh
# mail-zone: unpack a mailcow-dockerized release over data/, keeping what was changed here since the last unpack.
set -eu
release_dir="$1"
manifest=${MANIFEST_FILE}
keep=$(mktemp -d)
kept_list="$keep.list"
: > "$kept_list"
derived=" ${OVERRIDE_WRITTEN_FILES.join(" ")} "
keep_file() {
  mkdir -p "$keep/$(dirname "$1")"
  cp -p "$1" "$keep/$1"
  printf '%s %s\\n' "$2" "$1" >> "$kept_list"
}
if [ -f "$manifest" ]; then
  while read -r sum file; do
    [ -f "$file" ] || continue
    case "$derived" in *" $file "*) continue ;; esac
    now=$(sha256sum "$file" | cut -d' ' -f1)
    [ "$now" = "$sum" ] || keep_file "$file" "$sum"
  done < "$manifest"
elif [ -d data ]; then
  # A tree from before the manifest: keep what the UI writes.
  for p in ${UI_WRITTEN_PATHS.join(" ")}; do
    [ -e "$p" ] || continue
    find "$p" -type f | while read -r file; do keep_file "$file" "-"; done
  done
fi
mkdir -p data
cp -a "$release_dir/data/." data/
( cd "$release_dir" && find data -type f -exec sha256sum {} + ) > "$manifest.new"
while read -r sum file; do
  [ -n "$file" ] || continue
  cp -p "$keep/$file" "$file"
  upstream=$(awk -v f="$file" '{ p = $0; sub(/^[0-9a-f]+ +/, "", p); if (p == f) { print $1; exit } }' "$manifest.new")
  if [ -n "$upstream" ] && [ "$sum" != "-" ] && [ "$upstream" != "$sum" ]; then
    echo "WARNING: kept the local $file, but the new release changed it too: merge by hand (docs/upgrading-mailcow.md)"
  else
    echo "kept the local $file (changed since the last unpack)"
  fi
done < "$kept_list"
mv "$manifest.new" "$manifest"
rm -rf "$keep" "$kept_list"
`;
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
 * The init step: download and verify the pinned release (fetch-release.js checks the data/ tree id), check that
 * the tree belongs to the images the pod runs, unpack it keeping local edits (unpack-release.sh), then write the
 * overrides and the TLS files. A guard that cannot be applied stops the pod rather than run it open.
 */
export function initScript(): string {
  return `#!/bin/sh
# mail-zone: bring the pinned mailcow-dockerized data/ tree to the pod, then apply the zone's overrides.
set -eu
cd ${TREE_MOUNT}
if [ "$(cat .mail-zone-release 2>/dev/null || true)" != "$RELEASE $RELEASE_COMMIT" ]; then
  node /overrides/fetch-release.js
  rm -rf /tmp/release && mkdir -p /tmp/release
  tar -xzf "$RELEASE_FILE" -C /tmp/release --strip-components=1
  # The tree must match the images: every image of this pod appears in the release's compose file.
  for image in $EXPECTED_IMAGES; do
    awk -v want="$image" '$1 == "image:" && $2 == want { found = 1 } END { exit !found }' /tmp/release/docker-compose.yml \\
      || { echo "release $RELEASE does not run $image: refusing this tree"; exit 1; }
  done
  sh /overrides/unpack-release.sh /tmp/release
  cp /tmp/release/docker-compose.yml docker-compose.yml
  echo "$RELEASE $RELEASE_COMMIT" > .mail-zone-release
  rm -rf /tmp/release "$RELEASE_FILE"
  echo "mailcow-dockerized $RELEASE ($RELEASE_COMMIT) unpacked"
fi

# Mount sources the kubelet would otherwise create as directories.
for f in $FILE_SUBPATHS; do [ -e "$f" ] || { mkdir -p "$(dirname "$f")"; touch "$f"; }; done
for d in $DIR_SUBPATHS; do mkdir -p "$d"; done

# Relay and PROXY trust.
cp /overrides/postfix-extra.cf data/conf/postfix/extra.cf
cp /overrides/dovecot-extra.conf data/conf/dovecot/extra.conf

# A PROXY header claiming loopback must not make a client part of mynetworks (10025, 10465, 10587).
cp /overrides/${POSTFIX_GUARD_FILES.smtpd} data/conf/postfix/${POSTFIX_GUARD_FILES.smtpd}
cp /overrides/${POSTFIX_GUARD_FILES.postscreen} data/conf/postfix/${POSTFIX_GUARD_FILES.postscreen}
MASTER=data/conf/postfix/master.cf
if ! grep -q mail-zone-proxy "$MASTER"; then
  awk -f /overrides/postfix-master.awk "$MASTER" > "$MASTER.new" && mv "$MASTER.new" "$MASTER"
fi
[ "$(grep -c mail-zone-proxy "$MASTER")" -ge 3 ] \\
  || { echo "cannot apply the forged-loopback guard to $MASTER (docs/upgrading-mailcow.md): refusing to start"; exit 1; }

# Names that dig and curl ask the resolver for, answered from the address asked.
sed -i '/^${UNBOUND_BEGIN}$/,/^${UNBOUND_END}$/d' data/conf/unbound/unbound.conf
cat /overrides/unbound-local.conf >> data/conf/unbound/unbound.conf

# SOGo: loopback only (nginx is its one client here), with the worker count its memory limit is sized for.
SOGO_CONF=data/conf/sogo/sogo.conf
if [ -f "$SOGO_CONF" ]; then
  sed -i "$(cat /overrides/sogo-conf.sed)" "$SOGO_CONF"
  grep -q 'WOPort = "${LOOPBACK}:20000"' "$SOGO_CONF" \\
    || { echo "cannot bind SOGo to ${LOOPBACK} in $SOGO_CONF: refusing to start"; exit 1; }
fi

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
