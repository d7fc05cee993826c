import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { createHttpServer } from "./server";

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

async function serve(app: express.Express): Promise<{ server: Server; url: string }> {
  const server = createHttpServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe("createHttpServer", () => {
  it("builds each request and response with the app's prototypes, so Express has none to change", async () => {
    const app = express();
    app.get("/", (_req, res) => {
      res.json({});
    });
    const { server, url } = await serve(app);
    const seen: Array<{ request: boolean; response: boolean }> = [];
    // Before Express's handler, which would otherwise swap the prototypes itself.
    server.prependListener("request", (req: IncomingMessage, res: ServerResponse) => {
      seen.push({
        request: Object.getPrototypeOf(req) === app.request,
        response: Object.getPrototypeOf(res) === app.response,
      });
    });
    await request(url).get("/").expect(200);
    await request(url).get("/").expect(200);
    expect(seen).toEqual([
      { request: true, response: true },
      { request: true, response: true },
    ]);
  });

  it("serves the app as Express's own listen does: parsed bodies, headers, statuses and text", async () => {
    const app = express();
    app.use(express.json());
    app.post("/echo", (req, res) => {
      res
        .status(201)
        .set("X-Seen", String(req.get("x-probe")))
        .json({ body: req.body, path: req.path });
    });
    app.get("/text", (_req, res) => {
      res.type("text/plain").send("plain");
    });
    const { url } = await serve(app);
    const echoed = await request(url).post("/echo").set("X-Probe", "p1").send({ a: 1 });
    expect(echoed.status).toBe(201);
    expect(echoed.headers["x-seen"]).toBe("p1");
    expect(echoed.body).toEqual({ body: { a: 1 }, path: "/echo" });
    const text = await request(url).get("/text");
    expect(text.headers["content-type"]).toMatch(/^text\/plain/);
    expect(text.text).toBe("plain");
    expect((await request(url).get("/missing")).status).toBe(404);
  });
});
