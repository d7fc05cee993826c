/**
 * The dockerapi stand-in: answers the part of mailcow's dockerapi HTTP contract that php-fpm and the web code use
 * (data/web/inc/functions.docker.inc.php, data/Dockerfiles/phpfpm/docker-entrypoint.sh), and does the real work
 * through the Kubernetes API where it can: `exec` tasks run in the matching container of the Mailcow pod
 * (pods/exec), `restart` ends that container's PID 1 so the kubelet restarts it. It also replaces two Docker-only
 * helpers: ofelia (the same jobs, exec'd on the same schedule) and acme's reload step (when cert-manager renews the
 * certificate it copies it to /etc/ssl/mail and reloads postfix, dovecot and nginx, as acme did through dockerapi).
 *
 * Plain CommonJS with no dependencies, so the official node image runs it straight from a ConfigMap.
 */

const crypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const https = require("node:https");
const path = require("node:path");

/** A Docker-like container id: 64 hex digits (the web code checks ctype_xdigit). */
function containerId(service) {
  return crypto.createHash("sha256").update(service).digest("hex");
}

/**
 * The fake container list: one entry per compose service the pod runs (`mysql-mailcow`, …), labelled as compose
 * would label it, so `docker('get_id', 'sogo-mailcow')` and the php-fpm entrypoint find their ids.
 */
function listContainers(config, states) {
  const out = {};
  for (const service of Object.keys(config.containers)) {
    const id = containerId(service);
    const state = states?.[service] || { Running: true, Status: "running" };
    out[id] = {
      Id: id,
      Name: `/${config.project}-${service}-1`,
      State: state,
      Config: {
        Labels: { "com.docker.compose.service": service, "com.docker.compose.project": config.project },
        Image: "",
      },
    };
  }
  return out;
}

/** Single-quotes a value for sh, as dockerapi does (`'` → `'\''`). */
function shq(value) {
  return `'${String(value).replace(/'/g, "'\\''")}'`;
}

/** `su` to `user` for `script` (the containers run as root; dockerapi ran some commands as another user). */
function asUser(user, script) {
  return `su -s /bin/sh ${user} -c ${shq(script)}`;
}

/** Postfix queue ids as dockerapi accepts them (hex only); anything else is dropped. */
function queueIds(body) {
  return (Array.isArray(body.items) ? body.items : []).map(String).filter((id) => /^[0-9a-fA-F]+$/.test(id));
}

/** postsuper with one flag per queue id (`-d ID -d ID`), or null when no valid id was given. */
function postsuper(flag) {
  return (body) => {
    const ids = queueIds(body);
    return ids.length ? `postsuper ${ids.map((id) => `${flag} ${id}`).join(" ")}` : null;
  };
}

const ok = { type: "success", msg: "command completed successfully" };

/** The Dovecot ACL rights dockerapi passes on; others are dropped. */
const ACL_RIGHTS = [
  "admin",
  "create",
  "delete",
  "expunge",
  "insert",
  "lookup",
  "post",
  "read",
  "write",
  "write-deleted",
  "write-seen",
];

/**
 * `doveadm/get_acl`: the ACLs the user `id` has set on its own folders, and those others gave it on theirs (the
 * `Shared/<owner>/<folder>` namespace), as a list of { user, id, mailbox, rights } (dockerapi's answer).
 */
async function getAcl(body, exec) {
  const id = String(body.id || "");
  if (!id) return { json: { type: "danger", msg: "id is missing" } };
  const listed = await exec(`doveadm mailbox list -u ${shq(id)}`);
  const out = [];
  const seen = new Set();
  const entries = async (user, mailbox) => {
    const r = await exec(`doveadm acl get -u ${shq(user)} ${shq(mailbox)}`);
    return r.output
      .trim()
      .split("\n")
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((parts) => parts.length >= 2 && parts[0].includes("="))
      .map(([who, ...rights]) => ({ who: who.split("=")[1], rights }));
  };
  for (const folder of listed.output
    .split("\n")
    .map((l) => l.replace(/\r$/, ""))
    .filter(Boolean)) {
    if (!folder.includes("Shared")) {
      if (seen.has(folder)) continue;
      for (const e of await entries(id, folder)) {
        seen.add(folder);
        out.push({ user: id, id: e.who, mailbox: folder, rights: e.rights });
      }
    } else if (folder.includes("/")) {
      const parts = folder.split("/");
      if (parts.length < 3) continue;
      const owner = parts[1];
      const mailbox = parts.slice(2).join("/");
      if (seen.has(mailbox)) continue;
      for (const e of await entries(owner, mailbox)) {
        if (e.who === id && !seen.has(mailbox)) {
          seen.add(mailbox);
          out.push({ user: owner, id, mailbox, rights: e.rights });
        }
      }
    }
  }
  return { json: out };
}

/**
 * `rspamd/worker_password`: hash the UI password with rspamadm (as _rspamd), write it to the controller's password
 * include, read it back, restart rspamd (dockerapi's steps).
 */
async function rspamdWorkerPassword(body, exec) {
  if (typeof body.raw !== "string" || !body.raw) return { json: { type: "danger", msg: "raw is missing" } };
  const hashed = await exec(asUser("_rspamd", `rspamadm pw -e -p ${shq(body.raw)} 2> /dev/null`));
  const line = hashed.output.split("\n").find((l) => l.includes("$2$"));
  const match = line?.trim().match(/\$2\$.+$/);
  const hash = match ? match[0].replace(/[^0-9a-zA-Z$]+/g, "") : "";
  if (!hash.startsWith("$2$")) return { json: { type: "danger", msg: "command did not complete" } };
  const file = "/etc/rspamd/override.d/worker-controller-password.inc";
  const written = await exec(asUser("_rspamd", `echo ${shq(`enable_password = "${hash}";`)} > ${file} && cat ${file}`));
  if (!written.output.includes(hash)) return { json: { type: "danger", msg: "command did not complete" } };
  return { json: ok, restart: true };
}

/** `maildir/move` (mailbox rename): the maildir, and its index dir, as dockerapi moves them (as vmail). */
function maildirMove(body) {
  const oldDir = String(body.old_maildir || "");
  const newDir = String(body.new_maildir || "");
  if (!oldDir || !newDir) return null;
  let cmd = `if [ -d ${shq(`/var/vmail/${oldDir}`)} ]; then mv ${shq(`/var/vmail/${oldDir}`)} ${shq(`/var/vmail/${newDir}`)}; fi`;
  const o = oldDir.split("/");
  const n = newDir.split("/");
  if (o.length > 1 && n.length > 1) {
    // dockerapi's target name, `_index` suffix included (dovecot rebuilds a missing index).
    const from = `/var/vmail_index/${o[1]}@${o[0]}`;
    const to = `/var/vmail_index/${n[1]}@${n[0]}_index`;
    cmd += ` && if [ -d ${shq(from)} ]; then mv ${shq(from)} ${shq(to)}; fi`;
  }
  return asUser("vmail", cmd);
}

/** `maildir/cleanup` (delete/mailbox, delete/domain): move the maildir and its index to the garbage folder. */
function maildirCleanup(body) {
  const maildir = String(body.maildir || "");
  if (!maildir) return null;
  const sane = maildir.replace(/\W+/g, "");
  const now = Math.floor(Date.now() / 1000);
  let cmd = `if [ -d ${shq(`/var/vmail/${maildir}`)} ]; then mv ${shq(`/var/vmail/${maildir}`)} ${shq(`/var/vmail/_garbage/${now}_${sane}`)}; fi`;
  const parts = maildir.split("/");
  if (parts.length > 1) {
    const index = `/var/vmail_index/${parts[1]}@${parts[0]}`;
    cmd += ` && if [ -d ${shq(index)} ]; then mv ${shq(index)} ${shq(`/var/vmail/_garbage/${now}_${sane}_index`)}; fi`;
  }
  return asUser("vmail", cmd);
}

/**
 * The exec tasks the stand-in performs, by `cmd/task`: the shell command and how its result is reported, or a
 * `run` for the tasks of several steps (mirroring dockerapi's DockerApi.py handlers). Commands run as the
 * container's user (root), so where dockerapi used another user this runs through `su`. Passwords are read from
 * the target container's own env, so the stand-in never holds DBROOT. A task without its parameters answers
 * danger, never a success that did nothing.
 */
const EXEC_TASKS = {
  "system/mysql_upgrade": {
    script: () => 'mysql_upgrade -uroot -p"$MYSQL_ROOT_PASSWORD"',
    report: "mysql_upgrade",
  },
  "system/mysql_tzinfo_to_sql": {
    script: () =>
      "mysql_tzinfo_to_sql /usr/share/zoneinfo | sed 's/Local time zone must be set--see zic manual page/FCTY/' | " +
      'mysql -uroot -p"$MYSQL_ROOT_PASSWORD" mysql',
    report: "info",
  },
  // The dashboard json_decodes the answer: dockerapi returns the df line as a JSON string.
  "system/df": {
    script: (body) =>
      body.dir ? asUser("nobody", `df -H ${shq(body.dir)} | tail -n1 | tr -s '[:blank:]' | tr ' ' ','`) : null,
    report: "json_text",
    fallback: "0,0,0,0,0,0",
  },
  "system/fts_rescan": {
    script: (body) =>
      body.username
        ? asUser("vmail", `doveadm fts rescan -u ${shq(body.username)}`)
        : body.all
          ? asUser("vmail", "doveadm fts rescan -A")
          : null,
    report: "fts_rescan",
  },
  "reload/postfix": { script: () => "postfix reload", report: "generic" },
  "reload/dovecot": { script: () => "dovecot reload", report: "generic" },
  "reload/nginx": { script: () => "nginx -s reload", report: "generic" },
  "mailq/list": { script: () => asUser("postfix", "postqueue -j"), report: "text" },
  "mailq/flush": { script: () => asUser("postfix", "postqueue -f"), report: "generic" },
  "mailq/super_delete": { script: () => "postsuper -d ALL", report: "generic" },
  "mailq/delete": { script: postsuper("-d"), report: "generic" },
  "mailq/hold": { script: postsuper("-h"), report: "generic" },
  "mailq/unhold": { script: postsuper("-H"), report: "generic" },
  "mailq/cat": {
    script: (body) => {
      const ids = queueIds(body);
      return ids.length ? asUser("postfix", `postcat -q ${ids.join(" ")}`) : null;
    },
    report: "raw_text",
  },
  "mailq/deliver": {
    run: async (body, exec) => {
      const ids = queueIds(body);
      if (!ids.length) return { json: { type: "danger", msg: "no valid queue id" } };
      for (const id of ids) await exec(asUser("postfix", `postqueue -i ${id}`));
      return { json: { type: "success", msg: "Scheduled immediate delivery" } };
    },
  },
  "maildir/cleanup": { script: maildirCleanup, report: "generic" },
  "maildir/move": { script: maildirMove, report: "generic" },
  "sieve/list": {
    script: (body) => (body.username ? `doveadm sieve list -u ${shq(body.username)}` : null),
    report: "raw_text",
  },
  "sieve/print": {
    script: (body) =>
      body.username && body.script_name ? `doveadm sieve get -u ${shq(body.username)} ${shq(body.script_name)}` : null,
    report: "raw_text",
  },
  "sogo/rename_user": {
    script: (body) =>
      body.old_username && body.new_username
        ? asUser("sogo", `sogo-tool rename-user ${shq(body.old_username)} ${shq(body.new_username)}`)
        : null,
    report: "generic",
  },
  "doveadm/get_acl": { run: getAcl },
  "doveadm/delete_acl": {
    script: (body) =>
      body.user && body.mailbox && body.id
        ? `doveadm acl delete -u ${shq(body.user)} ${shq(body.mailbox)} ${shq(`user=${body.id}`)}`
        : null,
    report: "generic",
  },
  "doveadm/set_acl": {
    script: (body) => {
      const rights = (Array.isArray(body.rights) ? body.rights : [])
        .map((r) => String(r).toLowerCase())
        .filter((r) => ACL_RIGHTS.includes(r));
      return body.user && body.mailbox && body.id && rights.length
        ? `doveadm acl set -u ${shq(body.user)} ${shq(body.mailbox)} ${shq(`user=${body.id}`)} ${rights.join(" ")}`
        : null;
    },
    report: "generic",
  },
  "rspamd/worker_password": { run: rspamdWorkerPassword },
};

/** Turns an exec result into dockerapi's answer for that task. */
function reportExec(task, result) {
  const ok = result.exitCode === 0;
  switch (task.report) {
    case "mysql_upgrade":
      if (!ok) return { json: { type: "error", msg: "mysql_upgrade: error running command", text: result.output } };
      if (result.output.includes("is already upgraded to")) {
        return { json: { type: "success", msg: "mysql_upgrade: already upgraded", text: result.output } };
      }
      return {
        json: { type: "warning", msg: "mysql_upgrade: upgrade was applied", text: result.output },
        restart: true,
      };
    case "info":
      return ok
        ? { json: { type: "info", msg: "command completed successfully", text: result.output } }
        : { json: { type: "error", msg: "error running command", text: result.output } };
    case "text":
      return { text: ok ? result.output.replace(/\s+$/, "") : (task.fallback ?? result.output) };
    case "raw_text":
      // dockerapi's utf8_text_only: the output, whatever the exit code.
      return { text: result.output };
    case "json_text":
      return { json: ok ? result.output.replace(/\s+$/, "") : task.fallback };
    case "fts_rescan":
      return ok
        ? { json: { type: "success", msg: "fts_rescan: rescan triggered" } }
        : { json: { type: "warning", msg: "fts_rescan error" } };
    default:
      return ok
        ? { json: { type: "success", msg: "command completed successfully" } }
        : { json: { type: "danger", msg: `command failed: ${result.output}` } };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Kubernetes API: pod status and pods/exec over a WebSocket (v4.channel.k8s.io), without dependencies.

/** Reads the in-cluster API location and credentials (or the test's overrides). */
function kubeFromEnv(env) {
  const saDir = env.SA_DIR || "/var/run/secrets/kubernetes.io/serviceaccount";
  const read = (f) => {
    try {
      return fs.readFileSync(path.join(saDir, f), "utf8");
    } catch {
      return undefined;
    }
  };
  const base =
    env.KUBE_API_URL ||
    (env.KUBERNETES_SERVICE_HOST
      ? `https://${env.KUBERNETES_SERVICE_HOST}:${env.KUBERNETES_SERVICE_PORT || "443"}`
      : undefined);
  if (!base) return undefined;
  return { base, token: () => (read("token") || "").trim(), ca: read("ca.crt") };
}

function kubeRequestOptions(kube, pathAndQuery, extra) {
  const url = new URL(pathAndQuery, kube.base);
  const headers = { ...(extra || {}) };
  const token = kube.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  return {
    mod: url.protocol === "https:" ? https : http,
    options: {
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      headers,
      ca: kube.ca,
    },
  };
}

/** GET a JSON document from the API. */
function kubeGet(kube, pathAndQuery) {
  return new Promise((resolve, reject) => {
    const { mod, options } = kubeRequestOptions(kube, pathAndQuery, { Accept: "application/json" });
    const req = mod.request({ ...options, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => {
        if (res.statusCode !== 200) return reject(new Error(`GET ${options.path}: HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(body));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on("error", reject);
    req.end();
  });
}

/** Decodes server→client WebSocket frames (unmasked) from a buffer; returns the frames and the unused rest. */
function decodeFrames(buffer) {
  const frames = [];
  let offset = 0;
  while (buffer.length - offset >= 2) {
    const b0 = buffer[offset];
    const b1 = buffer[offset + 1];
    let len = b1 & 0x7f;
    let head = 2;
    if (len === 126) {
      if (buffer.length - offset < 4) break;
      len = buffer.readUInt16BE(offset + 2);
      head = 4;
    } else if (len === 127) {
      if (buffer.length - offset < 10) break;
      len = Number(buffer.readBigUInt64BE(offset + 2));
      head = 10;
    }
    const masked = (b1 & 0x80) !== 0;
    const maskLen = masked ? 4 : 0;
    if (buffer.length - offset < head + maskLen + len) break;
    let payload = buffer.subarray(offset + head + maskLen, offset + head + maskLen + len);
    if (masked) {
      const mask = buffer.subarray(offset + head, offset + head + 4);
      payload = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]));
    }
    frames.push({ fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload });
    offset += head + maskLen + len;
  }
  return { frames, rest: buffer.subarray(offset) };
}

/** Encodes one frame (the client side masks). */
function encodeFrame(opcode, payload, mask) {
  const data = Buffer.from(payload);
  const head = [0x80 | opcode];
  if (data.length < 126) head.push((mask ? 0x80 : 0) | data.length);
  else {
    head.push((mask ? 0x80 : 0) | 126, (data.length >> 8) & 0xff, data.length & 0xff);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), data]);
  const key = crypto.randomBytes(4);
  const masked = Buffer.from(data.map((byte, i) => byte ^ key[i % 4]));
  return Buffer.concat([Buffer.from(head), key, masked]);
}

/** Exit code from the exec status message on channel 3 (Success → 0; NonZeroExitCode → its code). */
function exitCodeFromStatus(status) {
  if (!status || status.status === "Success") return 0;
  const causes = status.details?.causes || [];
  const exit = causes.find((c) => c.reason === "ExitCode");
  return exit ? Number(exit.message) : 1;
}

/** Runs `sh -c script` in `container` of the pod through pods/exec; resolves with the output and exit code. */
function kubeExec(kube, target, container, script, timeoutMs) {
  return new Promise((resolve, reject) => {
    const q = new URLSearchParams();
    q.append("container", container);
    for (const part of ["/bin/sh", "-c", script]) q.append("command", part);
    q.append("stdout", "true");
    q.append("stderr", "true");
    const p = `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods/${encodeURIComponent(target.pod)}/exec?${q}`;
    const { mod, options } = kubeRequestOptions(kube, p, {
      Connection: "Upgrade",
      Upgrade: "websocket",
      "Sec-WebSocket-Version": "13",
      "Sec-WebSocket-Key": crypto.randomBytes(16).toString("base64"),
      "Sec-WebSocket-Protocol": "v4.channel.k8s.io",
    });
    const req = mod.request({ ...options, method: "GET" });
    // Once upgraded, the socket no longer belongs to `req` (req.destroy() is then a no-op), so the timer must end
    // the socket itself, or a stuck exec would hold its caller (and an ofelia job's no-overlap slot) forever.
    let upgraded;
    const timer = setTimeout(() => {
      const err = new Error(`exec in ${container} timed out`);
      if (!upgraded) return req.destroy(err);
      reject(err);
      upgraded.destroy();
    }, timeoutMs || 60_000);
    req.on("response", (res) => {
      clearTimeout(timer);
      reject(new Error(`exec in ${container}: HTTP ${res.statusCode}`));
      res.resume();
    });
    req.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on("upgrade", (_res, socket, head) => {
      upgraded = socket;
      let buffer = Buffer.from(head || []);
      let output = "";
      let status;
      const finish = () => {
        clearTimeout(timer);
        resolve({ output, exitCode: exitCodeFromStatus(status) });
      };
      // Frames may already sit in `head` (read together with the 101 response), so consume it first.
      const consume = (chunk) => {
        buffer = Buffer.concat([buffer, chunk]);
        const { frames, rest } = decodeFrames(buffer);
        buffer = rest;
        for (const frame of frames) {
          if (frame.opcode === 0x8) {
            socket.end(encodeFrame(0x8, Buffer.alloc(0), true));
            continue;
          }
          if (frame.opcode === 0x9) {
            socket.write(encodeFrame(0xa, frame.payload, true));
            continue;
          }
          if (frame.payload.length === 0) continue;
          const channel = frame.payload[0];
          const text = frame.payload.subarray(1).toString("utf8");
          if (channel === 1 || channel === 2) output += text;
          else if (channel === 3 && text) {
            try {
              status = JSON.parse(text);
            } catch {
              status = { status: "Failure" };
            }
          }
        }
      };
      consume(Buffer.alloc(0));
      socket.on("data", consume);
      socket.on("close", finish);
      socket.on("error", finish);
    });
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------------------------
// ofelia's jobs, on ofelia's schedule.

/**
 * Jobs due at `date`: each job runs every `everyMinutes` minutes, counted from local midnight (so 1440 = daily at
 * 00:00, 30 = :00 and :30), matching the every-N-minutes and daily (midnight) schedules of ofelia.
 */
function dueJobs(jobs, date) {
  const minuteOfDay = date.getHours() * 60 + date.getMinutes();
  return jobs.filter((job) => minuteOfDay % job.everyMinutes === 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Certificates: cert-manager's Secret (tls.crt/tls.key) → /etc/ssl/mail/{cert,key}.pem, as acme wrote them.

/** Copies the certificate if it changed; returns true when it did (then postfix, dovecot and nginx reload). */
function syncCertificate(tlsDir, sslDir) {
  const crt = fs.readFileSync(path.join(tlsDir, "tls.crt"));
  const key = fs.readFileSync(path.join(tlsDir, "tls.key"));
  let current;
  try {
    current = fs.readFileSync(path.join(sslDir, "cert.pem"));
  } catch {
    current = undefined;
  }
  let currentKey;
  try {
    currentKey = fs.readFileSync(path.join(sslDir, "key.pem"));
  } catch {
    currentKey = undefined;
  }
  if (current && currentKey && current.equals(crt) && currentKey.equals(key)) return false;
  // Write beside and rename, so a reader never sees half a file.
  fs.writeFileSync(path.join(sslDir, ".key.pem.new"), key, { mode: 0o600 });
  fs.writeFileSync(path.join(sslDir, ".cert.pem.new"), crt, { mode: 0o644 });
  fs.renameSync(path.join(sslDir, ".key.pem.new"), path.join(sslDir, "key.pem"));
  fs.renameSync(path.join(sslDir, ".cert.pem.new"), path.join(sslDir, "cert.pem"));
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Mailcow's admin password: the Secret's value, set in the database at start and whenever the Secret changes, with
// the changes upstream's helper-scripts/mailcow-reset-admin.sh makes (admin row replaced with an SSHA256 hash,
// superadmin and active; the admin's domain_admins rows and TFA removed) — only when the stored hash does not
// already verify, so a restart does not remove a TFA set up for the current password.

/** `{SSHA256}` + base64(sha256(password ‖ salt) ‖ salt): doveadm pw's format, which Mailcow's verify_hash reads. */
function ssha256(password, salt) {
  const s = salt || crypto.randomBytes(16);
  const digest = crypto.createHash("sha256").update(Buffer.from(password, "utf8")).update(s).digest();
  return `{SSHA256}${Buffer.concat([digest, s]).toString("base64")}`;
}

function verifySsha256(password, stored) {
  const m = /^\{SSHA256\}([A-Za-z0-9+/=]+)$/.exec(String(stored || "").trim());
  if (!m) return false;
  const raw = Buffer.from(m[1], "base64");
  if (raw.length <= 32) return false;
  const expected = ssha256(password, raw.subarray(32));
  return crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(`{SSHA256}${m[1]}`));
}

/** mysql as the Mailcow DB user, with the mysql container's own env (the stand-in holds no DB password). */
function mysqlScript(sql) {
  return `mysql -u"$MYSQL_USER" -p"$MYSQL_PASSWORD" "$MYSQL_DATABASE" -N -B -e ${shq(sql)}`;
}

function adminResetSql(hash) {
  return [
    "DELETE FROM admin WHERE username='admin';",
    "DELETE FROM domain_admins WHERE username='admin';",
    `INSERT INTO admin (username, password, superadmin, active) VALUES ('admin', '${hash}', 1, 1);`,
    "DELETE FROM tfa WHERE username='admin';",
  ].join(" ");
}

/**
 * Makes `password` the admin's: resolves "unchanged" when the stored hash verifies, "set" after replacing it.
 * Throws (to be retried) while the schema is not there yet or MySQL is down. Never logs the password or a hash.
 */
async function ensureAdminPassword(exec, password) {
  if (!password) throw new Error("the admin password is empty");
  const current = await exec(mysqlScript("SELECT password FROM admin WHERE username='admin';"));
  if (current.exitCode !== 0) throw new Error("reading the admin account failed (schema not ready?)");
  const stored = current.output.split("\n").find((l) => /^(\{|\$)/.test(l.trim()));
  if (stored && verifySsha256(password, stored)) return "unchanged";
  const set = await exec(mysqlScript(adminResetSql(ssha256(password))));
  if (set.exitCode !== 0) throw new Error("setting the admin password failed");
  return "set";
}

/** Reads the password file; undefined when absent. */
/**
 * The admin-password loop, one call per minute: applies the Secret's password when it differs from the one last
 * applied (so at start, and after every change of the Secret), retries after a failure, never runs twice at once.
 * Resolves when the call's work is done.
 */
function adminPasswordSync(readPassword, exec, log) {
  let applied;
  let busy = false;
  return async () => {
    if (busy) return;
    const password = readPassword();
    if (password === undefined || password === applied) return;
    busy = true;
    try {
      const outcome = await ensureAdminPassword(exec, password);
      applied = password;
      log(outcome === "set" ? "admin password set from the Secret" : "admin password matches the Secret");
    } catch (err) {
      log(`admin password: ${err.message}; retrying`);
    } finally {
      busy = false;
    }
  };
}

function readSecretFile(file) {
  try {
    return fs.readFileSync(file, "utf8").replace(/\r?\n$/, "");
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The HTTP(S) server.

function send(res, status, body, type) {
  const text = typeof body === "string" ? body : JSON.stringify(body, null, 4);
  res.writeHead(status, { "Content-Type": type || "application/json" });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve) => {
    let data = "";
    req.setEncoding("utf8");
    req.on("data", (c) => {
      data += c;
    });
    req.on("end", () => {
      try {
        resolve(data ? JSON.parse(data) : {});
      } catch {
        resolve({});
      }
    });
  });
}

/** Maps the pod's container statuses to Docker-like State objects, by compose service. */
function statesFromPod(pod, config) {
  const byContainer = {};
  for (const s of pod.status?.containerStatuses || []) byContainer[s.name] = s;
  const states = {};
  for (const [service, container] of Object.entries(config.containers)) {
    const s = byContainer[container];
    const running = Boolean(s?.state?.running);
    states[service] = {
      Running: running,
      Status: running ? "running" : "exited",
      StartedAt: s?.state?.running?.startedAt || "",
      Restarting: false,
    };
  }
  return states;
}

/**
 * Builds the request handler. `deps.exec(container, script)` and `deps.podStates()` reach Kubernetes (absent in
 * a test that only checks the contract); `deps.log` records what was done.
 */
function createHandler(config, deps) {
  const byId = {};
  for (const service of Object.keys(config.containers)) byId[containerId(service)] = service;
  const log = deps.log || (() => {});

  async function states() {
    if (!deps.podStates) return undefined;
    try {
      return await deps.podStates();
    } catch (err) {
      log(`pod status unavailable: ${err.message}`);
      return undefined;
    }
  }

  async function restart(service) {
    const container = config.containers[service];
    if (!deps.exec || !container) {
      return { type: "success", msg: "command completed successfully" };
    }
    // Ending PID 1 makes the kubelet restart just this container (restartPolicy Always), like `docker restart`.
    await deps.exec(container, "kill -TERM 1");
    log(`restarted ${service} (container ${container})`);
    return { type: "success", msg: "command completed successfully" };
  }

  return async function handle(req, res) {
    const url = new URL(req.url, "https://dockerapi");
    const parts = url.pathname.split("/").filter(Boolean);
    try {
      if (req.method === "GET" && url.pathname === "/healthz") return send(res, 200, "ok", "text/plain");
      if (req.method === "GET" && url.pathname === "/containers/json") {
        return send(res, 200, listContainers(config, await states()));
      }
      if (req.method === "GET" && parts[0] === "containers" && parts[2] === "json") {
        const service = byId[parts[1]];
        if (!service) return send(res, 200, { type: "danger", msg: "no container found" });
        const all = listContainers(config, await states());
        return send(res, 200, all[parts[1]]);
      }
      if (req.method === "GET" && url.pathname === "/host/stats") {
        return send(res, 200, { type: "info", msg: "host stats are not available on Kubernetes" });
      }
      if (req.method === "POST" && parts[0] === "container" && parts[2] === "stats") {
        return send(res, 200, {});
      }
      if (req.method === "POST" && parts[0] === "containers" && parts.length === 3) {
        const [, id, action] = parts;
        const service = byId[id];
        if (!/^[a-zA-Z0-9]+$/.test(id) || !service) {
          return send(res, 200, { type: "danger", msg: "no or invalid id defined" });
        }
        const body = await readBody(req);
        const container = config.containers[service];
        if (action === "restart") {
          if (!deps.exec || !container) return send(res, 200, { type: "danger", msg: "restart: no Kubernetes API" });
          return send(res, 200, await restart(service));
        }
        if (action === "start" || action === "stop") {
          // One container of a pod cannot be stopped on Kubernetes: the kubelet starts it again at once.
          return send(res, 200, {
            type: "danger",
            msg: `${action}: a container of the Mailcow pod cannot be ${action === "stop" ? "stopped" : "started"} alone on Kubernetes; use restart`,
          });
        }
        if (action !== "exec") {
          return send(res, 200, { type: "danger", msg: `${action}: not available on Kubernetes` });
        }
        if (!body.cmd) return send(res, 200, { type: "danger", msg: "cmd is missing" });
        if (!body.task) return send(res, 200, { type: "danger", msg: "task is missing" });
        const name = `${body.cmd}/${body.task}`;
        const task = EXEC_TASKS[name];
        if (!task) {
          log(`exec ${name} on ${service}: unknown task`);
          return send(res, 200, { type: "danger", msg: "container_post - unknown api call" });
        }
        if (!deps.exec || !container) return send(res, 200, { type: "danger", msg: `${name}: no Kubernetes API` });
        const run = (script) => deps.exec(container, script);
        let answer;
        if (task.run) {
          answer = await task.run(body, run);
          log(`exec ${name} on ${service}: done`);
        } else {
          const script = task.script(body);
          if (!script) return send(res, 200, { type: "danger", msg: `${name}: missing or invalid parameters` });
          const result = await run(script);
          log(`exec ${name} on ${service}: exit ${result.exitCode}`);
          answer = reportExec(task, result);
        }
        if (answer.restart) await restart(service);
        if (answer.text !== undefined) return send(res, 200, answer.text, "text/plain");
        // A JSON string (system/df), encoded as such.
        if (typeof answer.json === "string") return send(res, 200, JSON.stringify(answer.json));
        return send(res, 200, answer.json);
      }
      return send(res, 404, { type: "danger", msg: "not found" });
    } catch (err) {
      log(`error: ${err.message}`);
      return send(res, 200, { type: "danger", msg: err.message });
    }
  };
}

/** Reads the stand-in's configuration from its environment. */
function configFromEnv(env) {
  return {
    project: env.COMPOSE_PROJECT_NAME || "mailcowdockerized",
    containers: JSON.parse(env.MAILCOW_CONTAINERS || "{}"),
    jobs: env.JOBS_FILE && fs.existsSync(env.JOBS_FILE) ? JSON.parse(fs.readFileSync(env.JOBS_FILE, "utf8")) : [],
    port: Number(env.PORT || 443),
    // Loopback unless told otherwise: php-fpm, its one client, shares the pod's network namespace.
    host: env.LISTEN_HOST || "127.0.0.1",
    tlsDir: env.TLS_DIR || "/tls",
    adminPasswordFile: env.ADMIN_PASSWORD_FILE || "",
    sslDir: env.SSL_DIR || "",
    target: { namespace: env.POD_NAMESPACE || "", pod: env.POD_NAME || "" },
  };
}

/** Starts everything: the HTTPS server, the job scheduler and the certificate watcher. */
function main(env) {
  const config = configFromEnv(env);
  const log = (msg) => process.stdout.write(`${new Date().toISOString()} dockerapi-standin: ${msg}\n`);
  const kube = kubeFromEnv(env);
  const deps = { log };
  if (kube && config.target.pod) {
    deps.exec = (container, script) => kubeExec(kube, config.target, container, script);
    deps.podStates = async () =>
      statesFromPod(
        await kubeGet(
          kube,
          `/api/v1/namespaces/${encodeURIComponent(config.target.namespace)}/pods/${encodeURIComponent(config.target.pod)}`,
        ),
        config,
      );
  }
  const tls = () => ({
    cert: fs.readFileSync(path.join(config.tlsDir, "tls.crt")),
    key: fs.readFileSync(path.join(config.tlsDir, "tls.key")),
  });
  const server = https.createServer(tls(), createHandler(config, deps));
  server.listen(config.port, config.host, () => log(`listening on ${config.host}:${config.port}`));

  // The admin password: at start, then whenever the Secret's file changes; a failure is retried every minute.
  const mysql = config.containers["mysql-mailcow"];
  const syncAdmin =
    config.adminPasswordFile && deps.exec && mysql
      ? adminPasswordSync(
          () => readSecretFile(config.adminPasswordFile),
          (script) => deps.exec(mysql, script),
          log,
        )
      : () => Promise.resolve();

  const running = new Set();
  let lastMinute = -1;
  setInterval(() => {
    const now = new Date();
    const minute = Math.floor(now.getTime() / 60_000);
    if (minute === lastMinute) return;
    lastMinute = minute;
    syncAdmin();
    for (const job of dueJobs(config.jobs, now)) {
      if (!deps.exec || running.has(job.name)) continue; // ofelia's no-overlap
      running.add(job.name);
      deps
        .exec(job.container, job.command)
        .then((r) => log(`job ${job.name}: exit ${r.exitCode}`))
        .catch((err) => log(`job ${job.name}: ${err.message}`))
        .finally(() => running.delete(job.name));
    }
    if (config.sslDir) {
      try {
        if (syncCertificate(config.tlsDir, config.sslDir)) {
          log("certificate renewed: reloading postfix, dovecot, nginx");
          server.setSecureContext(tls());
          for (const [service, script] of [
            ["postfix-mailcow", "postfix reload"],
            ["dovecot-mailcow", "dovecot reload"],
            ["nginx-mailcow", "nginx -s reload"],
          ]) {
            const container = config.containers[service];
            if (deps.exec && container) deps.exec(container, script).catch((err) => log(`${script}: ${err.message}`));
          }
        }
      } catch (err) {
        log(`certificate sync: ${err.message}`);
      }
    }
  }, 5_000).unref();
  return server;
}

module.exports = {
  ssha256,
  verifySsha256,
  ensureAdminPassword,
  adminPasswordSync,
  adminResetSql,
  containerId,
  listContainers,
  createHandler,
  reportExec,
  EXEC_TASKS,
  kubeExec,
  kubeGet,
  kubeFromEnv,
  decodeFrames,
  encodeFrame,
  exitCodeFromStatus,
  dueJobs,
  syncCertificate,
  statesFromPod,
  configFromEnv,
  main,
};

if (require.main === module) main(process.env);
