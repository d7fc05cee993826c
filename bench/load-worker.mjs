// An open-loop load generator in a worker thread, so its timing does not share an event loop with the doubles:
// requests leave on a fixed schedule (`rate` per second) whether or not earlier ones have answered, and each
// latency is measured from sending to the last byte of the answer. Plain JS: worker threads do not get tsx.
import http from "node:http";
import { parentPort, workerData } from "node:worker_threads";

const { url, method, headers, body, rate, durationMs } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const target = new URL(url);
const total = Math.max(1, Math.round((rate * durationMs) / 1000));
const latencies = [];
const statuses = {};
let errors = 0;
let finished = 0;

function send() {
  const start = performance.now();
  const req = http.request(
    { host: target.hostname, port: target.port, path: target.pathname, method, headers, agent },
    (res) => {
      res.on("data", () => {});
      res.on("end", () => {
        latencies.push(performance.now() - start);
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        done();
      });
    },
  );
  req.on("error", () => {
    errors++;
    done();
  });
  req.end(body);
}

function done() {
  finished++;
  if (finished === total) {
    agent.destroy();
    parentPort.postMessage({ latencies, statuses, errors, sent: total });
  }
}

const t0 = performance.now();
let sent = 0;
function tick() {
  const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
  while (sent < due) {
    sent++;
    send();
  }
  if (sent < total) setTimeout(tick, Math.max(0, (sent * 1000) / rate - (performance.now() - t0)));
}
tick();
