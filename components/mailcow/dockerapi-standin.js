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

/**
 * The exec tasks the stand-in performs, by `cmd/task`: the shell command, and how its result is reported
 * (mirroring dockerapi's DockerApi.py handlers). Commands run as the container's user (root), so where dockerapi
 * used another user this runs through `su`. Passwords are read from the target container's own env, so the
 * stand-in never holds DBROOT.
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
  "system/df": {
    script: (body) => `df -H ${shq(body.dir || "/var/vmail")} | tail -n1 | tr -s '[:blank:]' | tr ' ' ','`,
    report: "text",
    fallback: "0,0,0,0,0,0",
  },
  "reload/postfix": { script: () => "postfix reload", report: "generic" },
  "reload/dovecot": { script: () => "dovecot reload", report: "generic" },
  "reload/nginx": { script: () => "nginx -s reload", report: "generic" },
  "mailq/list": { script: () => "su -s /bin/sh postfix -c 'postqueue -j'", report: "text" },
  "mailq/flush": { script: () => "su -s /bin/sh postfix -c 'postqueue -f'", report: "generic" },
  "mailq/super_delete": { script: () => "postsuper -d ALL", report: "generic" },
  "maildir/cleanup": {
    script: (body) => {
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
      return `su -s /bin/sh vmail -c ${shq(cmd)}`;
    },
    report: "generic",
  },
  "sieve/list": {
    script: (body) => (body.username ? `doveadm sieve list -u ${shq(body.username)}` : null),
    report: "text",
  },
  "sieve/print": {
    script: (body) =>
      body.username && body.script_name ? `doveadm sieve get -u ${shq(body.username)} ${shq(body.script_name)}` : null,
    report: "text",
  },
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
        if (action === "restart") return send(res, 200, await restart(service));
        if (action !== "exec") {
          // start/stop/top/stats have no Kubernetes meaning for one container of a pod.
          return send(res, 200, { type: "success", msg: `${action}: nothing to do on Kubernetes` });
        }
        if (!body.cmd) return send(res, 200, { type: "danger", msg: "cmd is missing" });
        if (!body.task) return send(res, 200, { type: "danger", msg: "task is missing" });
        const task = EXEC_TASKS[`${body.cmd}/${body.task}`];
        const script = task?.script(body);
        const container = config.containers[service];
        if (!task || !script || !deps.exec || !container) {
          log(`exec ${body.cmd}/${body.task} on ${service}: not performed`);
          return send(res, 200, { type: "success", msg: `${body.cmd}/${body.task}: not performed on Kubernetes` });
        }
        const result = await deps.exec(container, script);
        log(`exec ${body.cmd}/${body.task} on ${service}: exit ${result.exitCode}`);
        const answer = reportExec(task, result);
        if (answer.restart) await restart(service);
        if (answer.text !== undefined) return send(res, 200, answer.text, "text/plain");
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
    host: env.LISTEN_HOST || "0.0.0.0",
    tlsDir: env.TLS_DIR || "/tls",
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

  const running = new Set();
  let lastMinute = -1;
  setInterval(() => {
    const now = new Date();
    const minute = Math.floor(now.getTime() / 60_000);
    if (minute === lastMinute) return;
    lastMinute = minute;
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
