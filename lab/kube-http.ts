/** A minimal JSON client for the lab's API server (self-signed serving cert on loopback, bearer token). */
import https from "node:https";

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
}

export interface ApiClient {
  readonly url: string;
  request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<ApiResponse<T>>;
  /** GET that fails loudly on anything but 200. */
  get<T = Record<string, unknown>>(path: string): Promise<T>;
}

const agent = new https.Agent({ rejectUnauthorized: false, keepAlive: true, maxSockets: 8 });

export function apiClient(url: string, token: string): ApiClient {
  const request = <T>(method: string, path: string, body?: unknown, contentType = "application/json") =>
    new Promise<ApiResponse<T>>((resolve, reject) => {
      const data = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
      const req = https.request(
        `${url}${path}`,
        {
          method,
          agent,
          headers: {
            authorization: `Bearer ${token}`,
            accept: "application/json",
            ...(data === undefined ? {} : { "content-type": contentType, "content-length": Buffer.byteLength(data) }),
          },
          timeout: 30_000,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            text += c;
          });
          res.on("end", () => {
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON (e.g. /readyz's "ok"): keep the text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer in 30s`)));
      req.on("error", reject);
      if (data !== undefined) req.write(data);
      req.end();
    });
  return {
    url,
    request,
    async get<T>(path: string): Promise<T> {
      const res = await request<T>("GET", path);
      if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    },
  };
}
