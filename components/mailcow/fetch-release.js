/**
 * Downloads the pinned mailcow-dockerized release archive for the init step and verifies what it holds: the git
 * tree id of its `data/` directory must be the one pinned for the release (catalogue.ts, RELEASE_PINS), so a
 * mirror, a proxy or a moved tag cannot hand the pod another tree. The tree id is computed from the archive itself,
 * as git computes it (blob and tree objects hashed with SHA-1), so no git binary is needed in the pod.
 *
 * Why Node and not wget: the Mailcow pod's resolver is its own unbound (127.0.0.1, dnsPolicy None), which is not
 * running yet while init containers run. So this resolves names through BOOTSTRAP_DNS (the cluster DNS) itself.
 * Plain CommonJS with no dependencies; the official node image runs it from the overrides ConfigMap.
 */

const crypto = require("node:crypto");
const dns = require("node:dns");
const fs = require("node:fs");
const https = require("node:https");
const zlib = require("node:zlib");

/** A `lookup` for https.request that asks one DNS server (IPv4). */
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

/** Only https: a tree fetched in clear could be swapped on the way (the tree id still catches it, but fail early). */
function requireHttps(url, what) {
  const parsed = new URL(url);
  if (parsed.protocol !== "https:") throw new Error(`${what} ${url}: only https:// is accepted`);
  return parsed;
}

/** GETs `url` into `file`, following https redirects only; resolves with the sha256 (hex) of what was written. */
function download(url, file, options, redirects) {
  const left = redirects === undefined ? 5 : redirects;
  return new Promise((resolve, reject) => {
    let target;
    try {
      target = requireHttps(url, "GET");
    } catch (err) {
      return reject(err);
    }
    const req = https.get(
      target,
      { lookup: options.lookup, ca: options.ca, timeout: options.timeoutMs || 120_000 },
      (res) => {
        const status = res.statusCode || 0;
        if (status >= 300 && status < 400 && res.headers.location) {
          res.resume();
          if (left <= 0) return reject(new Error(`too many redirects fetching ${url}`));
          const next = new URL(res.headers.location, target).toString();
          if (!next.startsWith("https:")) return reject(new Error(`GET ${url}: refusing a redirect to ${next}`));
          return resolve(download(next, file, options, left - 1));
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
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on("error", reject);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// A streaming tar reader that hashes every regular file and symlink as a git blob (ustar, pax and GNU long names:
// what `git archive`, and so GitHub's archive endpoint, writes).

function octal(buf, start, length) {
  const field = buf.subarray(start, start + length);
  // Base-256 (GNU) for sizes over 8 GiB: high bit of the first byte set.
  if (field[0] & 0x80) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i];
    return n;
  }
  const text = field.toString("ascii").replace(/\0.*$/, "").trim();
  return text ? Number.parseInt(text, 8) : 0;
}

function cstring(buf, start, length) {
  const field = buf.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString("utf8");
}

function parsePax(body) {
  const out = {};
  let offset = 0;
  while (offset < body.length) {
    const space = body.indexOf(0x20, offset);
    if (space === -1) break;
    const length = Number(body.subarray(offset, space).toString("ascii"));
    if (!length) break;
    const record = body.subarray(space + 1, offset + length - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    offset += length;
  }
  return out;
}

/**
 * A sink for the decompressed tar stream: `write(chunk)` as data arrives, `end()` returns the entries seen,
 * `{ path, kind: "file" | "link", executable, sha }` with `sha` the git blob id (hex).
 */
function createTarBlobReader() {
  const entries = [];
  let pending = Buffer.alloc(0);
  let state = { kind: "header" };
  let pax = {};
  let longName;
  let longLink;
  let ended = false;

  function startBody(header) {
    const type = String.fromCharCode(header[156] || 0x30);
    const size = pax.size !== undefined ? Number(pax.size) : octal(header, 124, 12);
    const ustarPrefix = header.subarray(257, 262).toString("ascii") === "ustar" ? cstring(header, 345, 155) : "";
    const name = cstring(header, 0, 100);
    const path = pax.path ?? longName ?? (ustarPrefix ? `${ustarPrefix}/${name}` : name);
    const linkTarget = pax.linkpath ?? longLink ?? cstring(header, 157, 100);
    const mode = octal(header, 100, 8);
    const padding = (512 - (size % 512)) % 512;
    if (type === "x" || type === "g" || type === "L" || type === "K") {
      state = { kind: "meta", type, need: size, padding };
      return;
    }
    pax = {};
    longName = undefined;
    longLink = undefined;
    if (type === "0" || type === "7" || header[156] === 0) {
      const hash = crypto.createHash("sha1").update(`blob ${size}\0`);
      state = {
        kind: "body",
        remaining: size,
        padding,
        hash,
        entry: { path, kind: "file", executable: (mode & 0o111) !== 0 },
      };
      if (size === 0) finishBody();
      return;
    }
    if (type === "2") {
      const target = Buffer.from(linkTarget, "utf8");
      const sha = crypto.createHash("sha1").update(`blob ${target.length}\0`).update(target).digest("hex");
      entries.push({ path, kind: "link", executable: false, sha });
    }
    // Directories, hard links and anything else carry no blob of their own (git archive writes none of the latter).
    state = size > 0 ? { kind: "skip", remaining: size + padding } : { kind: "header" };
  }

  function finishBody() {
    entries.push({ ...state.entry, sha: state.hash.digest("hex") });
    state = state.padding > 0 ? { kind: "skip", remaining: state.padding } : { kind: "header" };
  }

  function finishMeta(body) {
    const { type, padding } = state;
    if (type === "x") pax = parsePax(body);
    if (type === "L") longName = body.toString("utf8").replace(/\0+$/, "");
    if (type === "K") longLink = body.toString("utf8").replace(/\0+$/, "");
    state = padding > 0 ? { kind: "skip", remaining: padding } : { kind: "header" };
  }

  function write(chunk) {
    let offset = 0;
    while (offset < chunk.length && !ended) {
      if (state.kind === "header" || state.kind === "meta") {
        const need = state.kind === "header" ? 512 : state.need;
        const take = Math.min(need - pending.length, chunk.length - offset);
        pending = Buffer.concat([pending, chunk.subarray(offset, offset + take)]);
        offset += take;
        if (pending.length < need) return;
        const block = pending;
        pending = Buffer.alloc(0);
        if (state.kind === "meta") {
          finishMeta(block);
          continue;
        }
        if (block.every((b) => b === 0)) {
          ended = true;
          return;
        }
        startBody(block);
        continue;
      }
      const take = Math.min(state.remaining, chunk.length - offset);
      if (state.kind === "body") state.hash.update(chunk.subarray(offset, offset + take));
      offset += take;
      state.remaining -= take;
      if (state.remaining > 0) return;
      if (state.kind === "body") finishBody();
      else state = { kind: "header" };
    }
  }

  return { write, end: () => entries };
}

/** git's tree order: byte order of the names, a tree's name compared as if it ended in `/`. */
function gitOrder(a, b) {
  const ka = Buffer.from(a.type === "tree" ? `${a.name}/` : a.name, "utf8");
  const kb = Buffer.from(b.type === "tree" ? `${b.name}/` : b.name, "utf8");
  return Buffer.compare(ka, kb);
}

/** The git tree id of `entries` (paths relative to the tree's root), as `git write-tree` would give it. */
function gitTreeId(entries) {
  const root = new Map();
  for (const e of entries) {
    const parts = e.path.split("/").filter(Boolean);
    let dir = root;
    for (const part of parts.slice(0, -1)) {
      if (!dir.has(part)) dir.set(part, new Map());
      dir = dir.get(part);
    }
    dir.set(parts[parts.length - 1], e);
  }
  function hashTree(dir) {
    const items = [];
    for (const [name, value] of dir) {
      if (value instanceof Map) items.push({ name, type: "tree", mode: "40000", sha: hashTree(value) });
      else {
        const mode = value.kind === "link" ? "120000" : value.executable ? "100755" : "100644";
        items.push({ name, type: "blob", mode, sha: value.sha });
      }
    }
    items.sort(gitOrder);
    const body = Buffer.concat(
      items.map((i) => Buffer.concat([Buffer.from(`${i.mode} ${i.name}\0`, "utf8"), Buffer.from(i.sha, "hex")])),
    );
    return crypto.createHash("sha1").update(`tree ${body.length}\0`).update(body).digest("hex");
  }
  return hashTree(root);
}

/**
 * Reads a release archive (.tar.gz, one top directory as `git archive --prefix` writes) and returns the git tree
 * id of `<top>/<subdir>` with its file counts.
 */
function archiveTreeId(file, subdir) {
  return new Promise((resolve, reject) => {
    const reader = createTarBlobReader();
    const input = fs.createReadStream(file);
    const gunzip = zlib.createGunzip();
    gunzip.on("data", (chunk) => reader.write(chunk));
    gunzip.on("end", () => {
      const all = reader.end();
      const inside = [];
      for (const e of all) {
        const slash = e.path.indexOf("/");
        const rel = slash === -1 ? "" : e.path.slice(slash + 1);
        if (rel.startsWith(`${subdir}/`)) inside.push({ ...e, path: rel.slice(subdir.length + 1) });
      }
      resolve({
        treeId: gitTreeId(inside),
        files: inside.length,
        regular: inside.filter((e) => e.kind === "file" && !e.executable).length,
        executable: inside.filter((e) => e.kind === "file" && e.executable).length,
        links: inside.filter((e) => e.kind === "link").length,
      });
    });
    gunzip.on("error", reject);
    input.on("error", reject);
    input.pipe(gunzip);
  });
}

/**
 * Downloads the archive, refuses it unless `data/`'s tree id is RELEASE_DATA_TREE (and its sha256 RELEASE_SHA256
 * when that is pinned too); a refused file is removed. Exits non-zero on any failure.
 */
async function main(env, extra) {
  if (!/^[0-9a-f]{40}$/.test(env.RELEASE_DATA_TREE || "")) {
    throw new Error("RELEASE_DATA_TREE is not set to a 40-hex git tree id: refusing an unverifiable release");
  }
  const options = { lookup: env.BOOTSTRAP_DNS ? lookupVia(env.BOOTSTRAP_DNS) : undefined, ca: extra?.ca };
  const sha = await download(env.RELEASE_URL, env.RELEASE_FILE, options);
  process.stdout.write(`downloaded ${env.RELEASE_URL}: sha256 ${sha}\n`);
  try {
    if (env.RELEASE_SHA256 && env.RELEASE_SHA256 !== sha) {
      throw new Error(`sha256 mismatch for ${env.RELEASE_URL}: expected ${env.RELEASE_SHA256}, got ${sha}`);
    }
    const tree = await archiveTreeId(env.RELEASE_FILE, "data");
    if (tree.treeId !== env.RELEASE_DATA_TREE) {
      throw new Error(
        `data/ tree mismatch for ${env.RELEASE_URL}: expected ${env.RELEASE_DATA_TREE}, got ${tree.treeId} (${tree.files} files)`,
      );
    }
    process.stdout.write(
      `data/ is git tree ${tree.treeId}: ${tree.files} files (${tree.regular} mode 100644, ${tree.executable} mode 100755, ${tree.links} links)\n`,
    );
    return { sha256: sha, ...tree };
  } catch (err) {
    fs.rmSync(env.RELEASE_FILE, { force: true });
    throw err;
  }
}

module.exports = { download, lookupVia, createTarBlobReader, gitTreeId, archiveTreeId, main };

if (require.main === module) {
  main(process.env).catch((err) => {
    process.stderr.write(`fetch-release: ${err.message}\n`);
    process.exit(1);
  });
}
