/**
 * Downloads the pinned mailcow-dockerized release tarball for the init step and prints its sha256.
 *
 * Why Node and not wget: the Mailcow pod's resolver is its own unbound (127.0.0.1, dnsPolicy None), which is not
 * running yet while init containers run. So this resolves names through BOOTSTRAP_DNS (the cluster DNS) itself.
 * Plain CommonJS with no dependencies; the official node image runs it from the overrides ConfigMap.
 */

const crypto = require("node:crypto");
const dns = require("node:dns");
const fs = require("node:fs");
const http = require("node:http");
const https = require("node:https");

/** A `lookup` for http(s).request that asks one DNS server (IPv4). */
function lookupVia(server) {
  const resolver = new dns.Resolver();
  resolver.setServers([server]);
  return (hostname, options, callback) => {
    resolver.resolve4(hostname, (err, addresses) => {
      if (err) return callback(err);
      if (options?.all)
        return callback(
          null,
          addresses.map((address) => ({ address, family: 4 })),
        );
      return callback(null, addresses[0], 4);
    });
  };
}

/** GETs `url` into `file`, following redirects; resolves with the sha256 (hex) of what was written. */
function download(url, file, options, redirects) {
  const left = redirects === undefined ? 5 : redirects;
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const mod = target.protocol === "https:" ? https : http;
    const req = mod.get(target, { lookup: options.lookup, timeout: options.timeoutMs || 120_000 }, (res) => {
      const status = res.statusCode || 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (left <= 0) return reject(new Error(`too many redirects fetching ${url}`));
        return resolve(download(new URL(res.headers.location, target).toString(), file, options, left - 1));
      }
      if (status !== 200) {
        res.resume();
        return reject(new Error(`GET ${url}: HTTP ${status}`));
      }
      const hash = crypto.createHash("sha256");
      const out = fs.createWriteStream(file);
      res.on("data", (chunk) => hash.update(chunk));
      res.pipe(out);
      out.on("finish", () => resolve(hash.digest("hex")));
      out.on("error", reject);
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on("error", reject);
  });
}

/** Downloads and checks the sha256 when one is pinned; exits non-zero on any failure. */
async function main(env) {
  const options = { lookup: env.BOOTSTRAP_DNS ? lookupVia(env.BOOTSTRAP_DNS) : undefined };
  const sha = await download(env.RELEASE_URL, env.RELEASE_FILE, options);
  process.stdout.write(`downloaded ${env.RELEASE_URL}: sha256 ${sha}\n`);
  if (env.RELEASE_SHA256 && env.RELEASE_SHA256 !== sha) {
    throw new Error(`sha256 mismatch for ${env.RELEASE_URL}: expected ${env.RELEASE_SHA256}, got ${sha}`);
  }
  return sha;
}

module.exports = { download, lookupVia, main };

if (require.main === module) {
  main(process.env).catch((err) => {
    process.stderr.write(`fetch-release: ${err.message}\n`);
    process.exit(1);
  });
}
