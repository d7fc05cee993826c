// An open-loop load generator in a worker thread, so its timing does not share an event loop with the doubles:
// requests leave on a fixed schedule (`rate` per second) whether or not earlier ones have answered, and each
// latency is measured from sending to the last byte of the answer. One worker serves every phase of a benchmark,
// over one keep-alive agent, so a phase measures the server, not a new thread's cold code or a new connection's
// handshake (both used to land in the slowest 1 %). Plain JS: worker threads do not get tsx.
import http from "node:http";
import { parentPort } from "node:worker_threads";

// A socket idle for 4 s is closed here, before the server's 5 s keep-alive timeout closes it from its side: reusing a
// socket the server is closing at that moment fails the request.
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, timeout: 4000 });

function phase({ url, method, headers, body, rate, durationMs }) {
  return new Promise((resolve) => {
    const target = new URL(url);
    const total = Math.max(1, Math.round((rate * durationMs) / 1000));
    const latencies = [];
    const statuses = {};
    let errors = 0;
    let finished = 0;
    const done = () => {
      finished++;
      if (finished === total) resolve({ latencies, statuses, errors, sent: total });
    };
    const send = () => {
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
    };
    const t0 = performance.now();
    let sent = 0;
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
      while (sent < due) {
        sent++;
        send();
      }
      if (sent < total) setTimeout(tick, Math.max(0, (sent * 1000) / rate - (performance.now() - t0)));
    };
    tick();
  });
}

parentPort.on("message", async (message) => {
  if (message === "close") {
    agent.destroy();
    parentPort.close();
    return;
  }
  parentPort.postMessage(await phase(message));
});
