import { AsyncLocalStorage } from "node:async_hooks";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bodyLimitBytes, jsonBody, parseStrictJson } from "./json-body";

const LIMIT = 64;

interface Outcome {
  status: number;
  text: string;
}

/** An app that answers what the middleware made of the body: the parsed value, "unread", or the error's type. */
function appWith(middleware: RequestHandler): express.Express {
  const app = express();
  app.post("/", middleware, (req, res) => {
    res.json(req.body === undefined ? { unread: true } : { body: req.body });
  });
  app.use((err: { type?: string; status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(err.status ?? 500).json({ error: err.type ?? "untyped" });
  });
  return app;
}

/** Starts an app on loopback; `send` writes one raw request with the given headers and body bytes. */
async function serve(app: express.Express) {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const send = (headers: Record<string, string>, body: Buffer) =>
    new Promise<Outcome>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, method: "POST", path: "/", headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      });
      req.on("error", reject);
      req.end(body);
    });
  return { server, port, send };
}

describe("jsonBody", () => {
  let direct: Awaited<ReturnType<typeof serve>>;
  let parser: Awaited<ReturnType<typeof serve>>;
  let fallbackCalls = 0;
  const bodyParser = express.json({ limit: LIMIT, strict: true, type: "application/json" });

  beforeAll(async () => {
    const counted: RequestHandler = (req, res, next) => {
      fallbackCalls++;
      bodyParser(req, res, next);
    };
    direct = await serve(appWith(jsonBody({ limitBytes: LIMIT, fallback: counted })));
    parser = await serve(appWith(bodyParser));
  });
  afterAll(() => {
    direct.server.close();
    parser.server.close();
  });

  const contentTypes = [
    "application/json",
    "application/json; charset=utf-8",
    'APPLICATION/JSON;charset="UTF-8"',
    "application/json; charset=utf-16le",
    "application/json; charset=latin1",
    "application/json; foo=bar",
    "application/merge-patch+json",
    "text/plain",
    undefined,
  ];
  const text = fc.oneof(
    fc.json(),
    fc.string({ maxLength: 70 }),
    fc.constantFrom(
      "",
      " ",
      "\t\n{}",
      "\uFEFF{}",
      "\uFEFF",
      "null",
      "1",
      '"x"',
      "{",
      "[1,2]",
      " \u00a0{}",
      "\uFEFF\uFEFF{}",
    ),
    fc.json().map((j) => `${" ".repeat(3)}${j}\n`),
  );
  const bytes = fc.oneof(
    text.map((t) => Buffer.from(t, "utf8")),
    fc.uint8Array({ maxLength: 70 }).map((a) => Buffer.from(a)),
  );

  it("gives every request the same body, or the same refusal, as express.json", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...contentTypes), bytes, async (type, body) => {
        const headers: Record<string, string> = { "Content-Length": String(body.length) };
        if (type !== undefined) headers["Content-Type"] = type;
        const [mine, theirs] = await Promise.all([direct.send(headers, body), parser.send(headers, body)]);
        expect(mine).toEqual(theirs);
      }),
      { numRuns: 300 },
    );
  });

  it("reads a plain JSON body itself and hands every other request to the fallback", async () => {
    const json = { "Content-Type": "application/json" };
    const read = async (headers: Record<string, string>, body: string) => {
      const before = fallbackCalls;
      const outcome = await direct.send(headers, Buffer.from(body));
      return { outcome, fallback: fallbackCalls - before };
    };
    const plain = await read({ ...json, "Content-Length": "8" }, '{"a": 1}');
    expect(plain).toEqual({ outcome: { status: 200, text: '{"body":{"a":1}}' }, fallback: 0 });
    for (const type of ["application/json; charset=utf-8", 'Application/JSON;charset="UTF-8"']) {
      expect((await read({ "Content-Type": type, "Content-Length": "2" }, "{}")).fallback, type).toBe(0);
    }
    const atLimit = "x".repeat(LIMIT - 8);
    expect((await read({ ...json, "Content-Length": String(LIMIT) }, `{"a":"${atLimit}"}`)).fallback).toBe(0);

    const overLimit = await read({ ...json, "Content-Length": String(LIMIT + 1) }, `{"a":"${atLimit}x"}`);
    expect(overLimit).toEqual({ outcome: { status: 413, text: '{"error":"entity.too.large"}' }, fallback: 1 });
    expect((await read({ ...json, "Content-Length": "2", "Content-Encoding": "identity" }, "{}")).fallback).toBe(1);
    expect((await read({ "Content-Type": "text/plain", "Content-Length": "2" }, "{}")).fallback).toBe(1);
  });

  it("reads a body that arrives in several pieces as express.json does", async () => {
    const body = '{"localPart": "info", "quotaMb": 12}';
    const pieces = [body.slice(0, 3), body.slice(3, 20), body.slice(20)];
    const sendInPieces = async (port: number) => {
      const socket = await new Promise<net.Socket>((resolve) => {
        const s = net.connect(port, "127.0.0.1", () => resolve(s));
      });
      const answer = new Promise<string>((resolve) => {
        let text = "";
        socket.on("data", (c: Buffer) => {
          text += c.toString("utf8");
          if (text.includes("\r\n\r\n{")) resolve(text.slice(text.indexOf("\r\n\r\n") + 4));
        });
      });
      socket.write(
        `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      for (const piece of pieces) {
        await new Promise((r) => setTimeout(r, 20));
        socket.write(piece);
      }
      const text = await answer;
      socket.destroy();
      return text;
    };
    const before = fallbackCalls;
    const mine = await sendInPieces(direct.port);
    expect(fallbackCalls).toBe(before);
    expect(mine).toBe(await sendInPieces(parser.port));
    expect(JSON.parse(mine)).toEqual({ body: { localPart: "info", quotaMb: 12 } });
  });

  it("passes on a request whose body an earlier middleware has read, as body-parser does", async () => {
    const twice = await serve(
      appWith(express.Router().use(jsonBody({ limitBytes: LIMIT }), jsonBody({ limitBytes: LIMIT }))),
    );
    try {
      const outcome = await twice.send(
        { "Content-Type": "application/json", "Content-Length": "7" },
        Buffer.from('{"a":1}'),
      );
      expect(outcome).toEqual({ status: 200, text: '{"body":{"a":1}}' });
    } finally {
      twice.server.close();
    }
  });

  it("calls the next middleware in the request's own async context", async () => {
    const context = new AsyncLocalStorage<string>();
    const app = express();
    app.post(
      "/",
      (_req, _res, next) => context.run("request-1", next),
      jsonBody({ limitBytes: LIMIT }),
      (_req, res) => {
        res.json({ context: context.getStore() ?? null });
      },
    );
    const { server, send } = await serve(app);
    try {
      const outcome = await send({ "Content-Type": "application/json", "Content-Length": "2" }, Buffer.from("{}"));
      expect(outcome).toEqual({ status: 200, text: '{"context":"request-1"}' });
    } finally {
      server.close();
    }
  });

  it("fails a request whose body stops short of its Content-Length as aborted, without reading it as JSON", async () => {
    const seen: string[] = [];
    const app = express();
    app.post("/", jsonBody({ limitBytes: LIMIT }), () => seen.push("handler"));
    app.use((err: { type?: string }, _req: Request, _res: Response, _next: NextFunction) => {
      seen.push(err.type ?? "untyped");
    });
    const { server, port } = await serve(app);
    try {
      const socket = await new Promise<net.Socket>((resolve) => {
        const s = net.connect(port, "127.0.0.1", () => resolve(s));
      });
      socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{"a');
      await new Promise((r) => setTimeout(r, 50));
      socket.destroy();
      await expect.poll(() => seen).toEqual(["request.aborted"]);
    } finally {
      server.close();
    }
  });
});

describe("parseStrictJson", () => {
  it("reads an empty body as {}, drops one byte-order mark, and refuses a top level that is not an object or array", () => {
    expect(parseStrictJson("")).toEqual({});
    expect(parseStrictJson('\uFEFF {"a":[1]}')).toEqual({ a: [1] });
    expect(parseStrictJson(" \r\n\t[]")).toEqual([]);
    for (const refused of ["null", "1", '"s"', " ", "\uFEFF\uFEFF{}", "\u00a0{}", "{"]) {
      expect(() => parseStrictJson(refused), refused).toThrow(expect.objectContaining({ type: "entity.parse.failed" }));
    }
  });
});

describe("bodyLimitBytes", () => {
  it("counts a kilobyte as 1,024 bytes, in upper or lower case, and refuses what is not a size", () => {
    expect(bodyLimitBytes("16kb")).toBe(16_384);
    expect(bodyLimitBytes("16KB")).toBe(16_384);
    expect(bodyLimitBytes("2mb")).toBe(2_097_152);
    expect(bodyLimitBytes("10b")).toBe(10);
    expect(() => bodyLimitBytes("16k")).toThrow(/16k/);
  });
});
