/**
 * `MailcowApi` over Mailcow's REST API (mailcow-notes §2). Plain `node:http`/`node:https`, because a custom CA with
 * global fetch needs undici's dispatcher, which we avoid on Node 20.
 *
 * Rules the client keeps: `X-API-Key` auth; JSON bodies; no cookies and no `Sec-Fetch-Dest` (Mailcow answers 403 to
 * anything but `empty`); every `add/*` preceded by a GET because Mailcow's adds are not idempotent; retries with
 * capped exponential backoff only where re-sending cannot create something twice (GETs, and a POST whose connection
 * was refused); every failure a `MailcowError` without the API key in it. A call given an `AbortSignal` stops as soon
 * as it aborts (the request destroyed, a backoff wait cut short) and rejects with an `AbortError` instead.
 */
import http from "node:http";
import https from "node:https";
import { domainToASCII } from "node:url";
import { z } from "zod";
import { abortError, isAbortError, systemClock } from "../clock";
import type {
  CallOptions,
  DkimKey,
  DomainLimits,
  EnsureResult,
  Mailbox,
  MailcowApi,
  MailcowDomain,
  NewMailbox,
  RateLimit,
} from "./api";
import { kindForMessageKey, kindForStatus, MailcowError, type MailcowErrorKind } from "./errors";
import {
  dkimFromApi,
  domainFromApi,
  isEmptyGet,
  type MailcowMessage,
  mailboxFromApi,
  parseBody,
  ShapeError,
  toList,
  type WriteOutcome,
  writeOutcome,
} from "./normalise";
import { describeOwnedDomain } from "./ownership";

/**
 * Limits of a new domain: Mailcow's own "Default" domain template (`init_db.inc.php`), so a domain made by the
 * controller looks like one made in the UI. `description` empty means "the domain name".
 */
export const DEFAULT_DOMAIN_LIMITS: Readonly<DomainLimits> = Object.freeze({
  description: "",
  aliases: 400,
  mailboxes: 10,
  defquotaMb: 3072,
  maxquotaMb: 10240,
  quotaMb: 10240,
});

/** No rate limit (Mailcow's default): value 0 clears any limit set before. */
export const DEFAULT_RATE_LIMIT: Readonly<RateLimit> = Object.freeze({ value: 0, frame: "s" });

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_RETRIES = 3;
export const DEFAULT_BACKOFF_MS = 250;
export const DEFAULT_MAX_BACKOFF_MS = 5_000;
export const DEFAULT_DKIM_KEY_SIZE = 2048;

/** The subset of a pino logger the client uses; a pino `Logger` fits. */
export interface MailcowLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface MailcowRequestInfo {
  method: "GET" | "POST";
  /** Path after the base URL, e.g. `/api/v1/get/domain/example.com`. */
  path: string;
  /** 1 for the first try, 2 for the first retry, … */
  attempt: number;
}

export interface MailcowClientOptions {
  /** e.g. `http://mailcow-nginx.mail-zone.svc.cluster.local:8080`; the client appends `/api/v1/...`. */
  baseUrl: string;
  /** The read-write API key (`API_KEY`). */
  apiKey: string;
  /** Per attempt, from sending to the last body byte. Default 10000. */
  timeoutMs?: number;
  /** Extra attempts for retryable failures. Default 3. */
  retries?: number;
  /** First backoff delay; doubles per retry up to `maxBackoffMs`, with jitter. Default 250. */
  backoffMs?: number;
  /** Cap of one backoff delay. Default 5000. */
  maxBackoffMs?: number;
  /** PEM CA bundle for an `https` base URL with a private CA. Certificate verification is always on. */
  ca?: string | Buffer;
  logger?: MailcowLogger;
  /** Called before every HTTP attempt (benchmarks count calls with it). */
  onRequest?: (info: MailcowRequestInfo) => void;
}

const optionsSchema = z.object({
  baseUrl: z.url({ protocol: /^https?$/, error: "baseUrl must be an http:// or https:// URL" }),
  apiKey: z
    .string({ error: "apiKey must be a string" })
    .min(1, "apiKey must not be empty")
    // Mailcow strips other characters before the lookup, so such a key can never authenticate.
    .regex(/^[A-Za-z0-9-]+$/, "apiKey may only hold letters, digits and '-' (Mailcow strips anything else)"),
  timeoutMs: z.number().int().positive("timeoutMs must be a positive number of milliseconds").optional(),
  retries: z.number().int().min(0, "retries must be 0 or more").optional(),
  backoffMs: z.number().min(0, "backoffMs must be 0 or more").optional(),
  maxBackoffMs: z.number().min(0, "maxBackoffMs must be 0 or more").optional(),
});

type Method = "GET" | "POST";

interface RawResponse {
  status: number;
  text: string;
}

/** A failure before a complete response; `sent` tells whether the request may have reached Mailcow. */
class AttemptFailure extends Error {
  constructor(
    readonly code: string,
    readonly sent: boolean,
  ) {
    super(code);
  }
}

/** Connection failures where nothing reached Mailcow, so even a POST may be sent again. */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "EAI_AGAIN"]);

const TLS_CODE_RE = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|ERR_SSL/;

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const SELECTOR_RE = /^[A-Za-z0-9._-]+$/;
const LOCAL_PART_RE = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+$/;

export class MailcowClient implements MailcowApi {
  private readonly base: URL;
  /** Path prefix of the base URL without a trailing slash ("" for none). */
  private readonly prefix: string;
  private readonly apiKey: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly agent: http.Agent;
  private readonly logger: MailcowLogger | undefined;
  private readonly onRequest: ((info: MailcowRequestInfo) => void) | undefined;

  constructor(options: MailcowClientOptions) {
    const parsed = optionsSchema.safeParse(options);
    if (!parsed.success) {
      // Issues name the option and the rule; never echo the values (the key is one of them).
      const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "options"}: ${i.message}`);
      throw new TypeError(`invalid MailcowClient options: ${problems.join("; ")}`);
    }
    const base = new URL(options.baseUrl);
    this.prefix = base.pathname.replace(/\/+$/, "");
    this.base = base;
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retries = options.retries ?? DEFAULT_RETRIES;
    this.backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS;
    this.maxBackoffMs = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
    this.logger = options.logger;
    this.onRequest = options.onRequest;
    // No keep-alive: a pooled socket the server closed would fail a POST with ECONNRESET that we must not re-send.
    this.agent =
      base.protocol === "https:"
        ? new https.Agent({ keepAlive: false, ca: options.ca, rejectUnauthorized: true })
        : new http.Agent({ keepAlive: false });
  }

  /** Releases the HTTP agent. */
  close(): void {
    this.agent.destroy();
  }

  // ---- domains -------------------------------------------------------------------------------------------------

  async getDomain(domain: string, options?: CallOptions): Promise<MailcowDomain | null> {
    const name = this.domainName("getDomain", domain);
    return this.fetchDomain("getDomain", name, options?.signal);
  }

  async ensureDomain(
    domain: string,
    owner: string,
    limits: DomainLimits,
    rateLimit?: RateLimit,
    options?: CallOptions,
  ): Promise<EnsureResult<MailcowDomain>> {
    const op = "ensureDomain";
    const signal = options?.signal;
    const name = this.domainName(op, domain);
    checkLimits(op, limits);
    if (rateLimit) this.checkRateLimit(op, rateLimit);
    const existing = await this.fetchDomain(op, name, signal);
    if (existing) return { value: existing, created: false };
    // add/domain applies a rate limit itself when both fields are set (it calls the rl-domain code).
    const limited = rateLimit && rateLimit.value > 0 ? rateLimit : null;

    const outcome = await this.write(
      op,
      "add/domain",
      {
        domain: name,
        description: describeOwnedDomain(owner, limits.description),
        aliases: limits.aliases,
        mailboxes: limits.mailboxes,
        defquota: limits.defquotaMb,
        maxquota: limits.maxquotaMb,
        quota: limits.quotaMb,
        active: 1,
        // SOGo restarts go through dockerapi, which does not exist on Kubernetes.
        restart_sogo: 0,
        // An empty selector stops add/domain from making a DKIM key behind our back; ensureDkim makes it.
        dkim_selector: "",
        key_size: 0,
        ...(limited ? { rl_value: limited.value, rl_frame: limited.frame } : {}),
      },
      [],
      signal,
    );
    if (!outcome.ok) {
      if (outcome.failure.key === "domain_exists") {
        // Made meanwhile (or an alias domain of that name): trust only what a GET shows.
        const now = await this.fetchDomain(op, name, signal);
        if (now) return { value: now, created: false };
      }
      throw this.failure(op, outcome.failure);
    }
    // Mailcow confirmed domain_added for exactly these fields; a second GET would only echo them back.
    const created: MailcowDomain = {
      name,
      active: true,
      mailboxCount: 0,
      limits: { ...limits, description: describeOwnedDomain(owner, limits.description) },
      rateLimit: limited ? { ...limited } : null,
      owner,
    };
    return withWarnings({ value: created, created: true }, outcome.warnings);
  }

  async setDomainActive(domain: string, active: boolean, options?: CallOptions): Promise<void> {
    const op = "setDomainActive";
    const name = this.domainName(op, domain);
    await this.writeOk(op, "edit/domain", { items: [name], attr: { active: active ? 1 : 0 } }, [], options?.signal);
  }

  async setDomainRateLimit(domain: string, limit: RateLimit, options?: CallOptions): Promise<void> {
    const op = "setDomainRateLimit";
    const name = this.domainName(op, domain);
    this.checkRateLimit(op, limit);
    await this.writeOk(
      op,
      "edit/rl-domain",
      { items: [name], attr: { rl_value: String(limit.value), rl_frame: limit.frame } },
      [],
      options?.signal,
    );
  }

  // ---- DKIM ----------------------------------------------------------------------------------------------------

  async getDkim(domain: string, options?: CallOptions): Promise<DkimKey | null> {
    const op = "getDkim";
    return this.fetchDkim(op, this.domainName(op, domain), options?.signal);
  }

  async ensureDkim(
    domain: string,
    selector: string,
    keySize: number = DEFAULT_DKIM_KEY_SIZE,
    options?: CallOptions,
  ): Promise<EnsureResult<DkimKey>> {
    const op = "ensureDkim";
    const signal = options?.signal;
    const name = this.domainName(op, domain);
    if (!SELECTOR_RE.test(selector)) {
      throw this.invalid(op, `DKIM selector ${JSON.stringify(selector)} must match [A-Za-z0-9._-]+`);
    }
    if (![1024, 2048, 3072, 4096].includes(keySize)) {
      throw this.invalid(op, `DKIM key size ${keySize} must be 1024, 2048, 3072 or 4096`);
    }
    const existing = await this.fetchDkim(op, name, signal);
    if (existing) {
      if (existing.selector !== selector) {
        // Replacing a published key would break signatures in flight; keep it and say so.
        this.logger?.warn(
          { op, domain: name, selector: existing.selector, wanted: selector },
          "DKIM key exists with another selector; keeping it",
        );
      }
      return { value: existing, created: false };
    }
    const outcome = await this.write(
      op,
      "add/dkim",
      { domains: name, dkim_selector: selector, key_size: keySize },
      [],
      signal,
    );
    if (!outcome.ok) {
      if (outcome.failure.key === "dkim_domain_or_sel_invalid") {
        const now = await this.fetchDkim(op, name, signal);
        if (now) return { value: now, created: false };
      }
      throw this.failure(op, outcome.failure);
    }
    const created = await this.fetchDkim(op, name, signal);
    if (!created)
      throw this.protocol(op, `Mailcow reported a DKIM key added for ${name} but get/dkim does not show it`);
    return withWarnings({ value: created, created: true }, outcome.warnings);
  }

  // ---- mailboxes -----------------------------------------------------------------------------------------------

  async listMailboxes(domain: string): Promise<Mailbox[]> {
    const op = "listMailboxes";
    return this.mailboxesOf(op, this.domainName(op, domain));
  }

  async addMailbox(mailbox: NewMailbox): Promise<Mailbox> {
    const op = "addMailbox";
    const domain = this.domainName(op, mailbox.domain);
    const localPart = mailbox.localPart.trim().toLowerCase();
    if (!LOCAL_PART_RE.test(localPart) || localPart.startsWith(".") || localPart.endsWith(".")) {
      throw this.invalid(op, `local part ${JSON.stringify(mailbox.localPart)} is not a valid mailbox name`);
    }
    if (!Number.isInteger(mailbox.quotaMb) || mailbox.quotaMb < 0) {
      throw this.invalid(op, `quotaMb ${mailbox.quotaMb} must be a whole number of MiB >= 0`);
    }
    const name = mailbox.name ?? localPart;
    await this.writeOk(
      op,
      "add/mailbox",
      {
        local_part: localPart,
        domain,
        name,
        password: mailbox.password,
        password2: mailbox.password,
        quota: mailbox.quotaMb,
        active: 1,
      },
      [mailbox.password],
    );
    // Built from what Mailcow accepted rather than fetched: saves a GET per mailbox.
    return { username: `${localPart}@${domain}`, localPart, domain, name, active: true, quotaMb: mailbox.quotaMb };
  }

  async deleteMailbox(address: string): Promise<void> {
    const op = "deleteMailbox";
    const username = address.trim().toLowerCase();
    const at = username.lastIndexOf("@");
    if (at <= 0) throw this.invalid(op, `${JSON.stringify(address)} is not a mailbox address`);
    this.domainName(op, username.slice(at + 1));
    await this.writeOk(op, "delete/mailbox", [username]);
  }

  async purgeDomain(domain: string, options?: CallOptions): Promise<void> {
    const op = "purgeDomain";
    const signal = options?.signal;
    const name = this.domainName(op, domain);
    // Order matters: delete/domain refuses a domain that still has mailboxes, and it leaves the DKIM key behind.
    const mailboxes = await this.mailboxesOf("listMailboxes", name, signal);
    if (mailboxes.length > 0) {
      await this.writeOk(
        op,
        "delete/mailbox",
        mailboxes.map((m) => m.username),
        [],
        signal,
      );
    }
    await this.writeOk(op, "delete/domain", [name], [], signal);
    await this.writeOk(op, "delete/dkim", [name], [], signal);
  }

  async ping(): Promise<void> {
    const op = "ping";
    const body = await this.read(op, "get/status/version");
    if (isEmptyGet(body) || typeof body !== "object" || body === null || !("version" in body)) {
      throw this.protocol(op, "get/status/version did not answer {version} (is the API key accepted?)");
    }
  }

  // ---- plumbing ------------------------------------------------------------------------------------------------

  private async fetchDomain(op: string, name: string, signal?: AbortSignal): Promise<MailcowDomain | null> {
    const body = await this.read(op, `get/domain/${encodeURIComponent(name)}`, signal);
    const domains = this.shape(op, () => toList(body).map(domainFromApi));
    // An alias domain's name returns its target domain's details: only an exact name counts.
    return domains.find((d) => d.name === name) ?? null;
  }

  private async fetchDkim(op: string, name: string, signal?: AbortSignal): Promise<DkimKey | null> {
    const body = await this.read(op, `get/dkim/${encodeURIComponent(name)}`, signal);
    if (isEmptyGet(body)) return null;
    return this.shape(op, () => dkimFromApi(body));
  }

  private async mailboxesOf(op: string, name: string, signal?: AbortSignal): Promise<Mailbox[]> {
    const body = await this.read(op, `get/mailbox/all/${encodeURIComponent(name)}`, signal);
    return this.shape(op, () => toList(body).map(mailboxFromApi)).filter((m) => m.domain === name);
  }

  /** Normalises domain input the way Mailcow does (lower case, IDN to ASCII) and refuses what cannot be one. */
  private domainName(op: string, domain: string): string {
    const ascii = domainToASCII(domain.trim().toLowerCase().replace(/\.$/, ""));
    if (ascii === "" || !ascii.includes(".") || ascii.length > 253) {
      throw this.invalid(op, `${JSON.stringify(domain)} is not a valid domain name`);
    }
    return ascii;
  }

  private async read(op: string, route: string, signal?: AbortSignal): Promise<unknown> {
    const res = await this.send(op, "GET", route, undefined, [], signal);
    const parsed = parseBody(res.text, [this.apiKey]);
    if (parsed.kind === "empty") return null;
    if (parsed.kind === "not-json") throw this.protocol(op, `GET ${route} answered non-JSON: ${parsed.snippet}`);
    return parsed.value;
  }

  private async write(
    op: string,
    route: string,
    body: unknown,
    secrets: readonly string[] = [],
    signal?: AbortSignal,
  ): Promise<WriteOutcome> {
    const res = await this.send(op, "POST", route, JSON.stringify(body), secrets, signal);
    const parsed = parseBody(res.text, [this.apiKey, ...secrets]);
    if (parsed.kind === "empty") throw this.protocol(op, `POST ${route} answered an empty body`, secrets);
    if (parsed.kind === "not-json") {
      throw this.protocol(op, `POST ${route} answered non-JSON: ${parsed.snippet}`, secrets);
    }
    const outcome = this.shape(op, () => writeOutcome(parsed.value), secrets);
    if (outcome.ok && outcome.warnings.length > 0) {
      this.logger?.warn({ op, route, warnings: outcome.warnings.map(messageText) }, "Mailcow answered with warnings");
    }
    return outcome;
  }

  private async writeOk(
    op: string,
    route: string,
    body: unknown,
    secrets: readonly string[] = [],
    signal?: AbortSignal,
  ): Promise<void> {
    const outcome = await this.write(op, route, body, secrets, signal);
    if (!outcome.ok) throw this.failure(op, outcome.failure, secrets);
  }

  /**
   * One HTTP exchange with retries; resolves with a 200 answer, rejects with a MailcowError, or with an AbortError
   * once `signal` aborts (checked before each attempt, during it and during the backoff; never retried).
   */
  private async send(
    op: string,
    method: Method,
    route: string,
    body: string | undefined,
    secrets: readonly string[],
    signal?: AbortSignal,
  ): Promise<RawResponse> {
    const path = `${this.prefix}/api/v1/${route}`;
    const allSecrets = [this.apiKey, ...secrets];
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw abortError();
      this.onRequest?.({ method, path, attempt });
      const started = Date.now();
      let error: MailcowError;
      let retryable: boolean;
      try {
        const res = await this.attempt(method, path, body, signal);
        this.logger?.debug({ op, method, path, status: res.status, attempt, ms: Date.now() - started }, "mailcow call");
        if (res.status === 200) return res;
        error = this.httpError(op, method, route, res, allSecrets);
        retryable = method === "GET" && error.kind === "transient";
      } catch (err) {
        // Aborted: not a Mailcow failure, so no MailcowError kind that could mark the site `error`.
        if (isAbortError(err) || signal?.aborted) throw abortError();
        const failure = err instanceof AttemptFailure ? err : new AttemptFailure("EUNKNOWN", true);
        // An untrusted certificate is a setting to fix (the `ca` option), not a blip to wait out.
        const tls = TLS_CODE_RE.test(failure.code);
        const what =
          failure.code === "ETIMEDOUT"
            ? `timed out after ${this.timeoutMs} ms`
            : tls
              ? `${failure.code} (TLS certificate not trusted; set the CA option for a private CA)`
              : failure.code;
        error = new MailcowError({
          kind: tls ? "protocol" : "transient",
          operation: op,
          detail: `${method} ${route} failed: ${what}`,
          code: failure.code,
          secrets: allSecrets,
        });
        // A POST that may have reached Mailcow is never sent twice: adds are not idempotent.
        retryable = !tls && (method === "GET" || (!failure.sent && NOT_SENT_CODES.has(failure.code)));
      }
      if (!retryable || attempt > this.retries) throw error;
      const delay = this.backoff(attempt);
      this.logger?.warn({ op, method, path, attempt, delayMs: delay, error: error.message }, "mailcow call retried");
      await systemClock.sleep(delay, signal);
    }
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** (attempt - 1));
    // Half fixed, half random: spreads retries of parallel runs without ever waiting zero.
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  private attempt(
    method: Method,
    path: string,
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<RawResponse> {
    const transport = this.base.protocol === "https:" ? https : http;
    const headers: http.OutgoingHttpHeaders = { "X-API-Key": this.apiKey, Accept: "application/json" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = Buffer.byteLength(body);
    }
    return new Promise<RawResponse>((resolve, reject) => {
      let settled = false;
      let responded = false;
      let connected = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        fn();
      };
      const onAbort = (): void => {
        finish(() => reject(abortError()));
        req.destroy();
      };
      const req = transport.request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname.replace(/^\[|\]$/g, ""),
          port: this.base.port || undefined,
          method,
          path,
          headers,
          agent: this.agent,
        },
        (res) => {
          responded = true;
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) {
              req.destroy();
              finish(() => reject(new AttemptFailure("EBODYTOOLARGE", true)));
              return;
            }
            chunks.push(chunk);
          });
          res.on("end", () =>
            finish(() => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") })),
          );
          res.on("aborted", () => finish(() => reject(new AttemptFailure("ECONNRESET", true))));
          res.on("error", (err: NodeJS.ErrnoException) =>
            finish(() => reject(new AttemptFailure(err.code ?? "ECONNRESET", true))),
          );
        },
      );
      req.on("socket", (socket) => {
        socket.once("connect", () => {
          connected = true;
        });
        socket.once("secureConnect", () => {
          connected = true;
        });
      });
      const timer = setTimeout(() => {
        finish(() => reject(new AttemptFailure("ETIMEDOUT", connected || responded)));
        req.destroy();
      }, this.timeoutMs);
      req.on("error", (err: NodeJS.ErrnoException) => {
        const code = err.code ?? "ECONNRESET";
        finish(() => reject(new AttemptFailure(code, !(NOT_SENT_CODES.has(code) && !connected))));
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      if (signal?.aborted) onAbort();
      req.end(body);
    });
  }

  private httpError(
    op: string,
    method: Method,
    route: string,
    res: RawResponse,
    secrets: readonly string[],
  ): MailcowError {
    const parsed = parseBody(res.text, secrets);
    let said = "";
    if (parsed.kind === "json" && typeof parsed.value === "object" && parsed.value !== null) {
      const msg = (parsed.value as { msg?: unknown }).msg;
      if (typeof msg === "string") said = msg;
    } else if (parsed.kind === "not-json") {
      said = parsed.snippet;
    }
    const kind: MailcowErrorKind = kindForStatus(res.status);
    return new MailcowError({
      kind,
      operation: op,
      detail: `${method} ${route} answered HTTP ${res.status}${said ? `: ${said}` : ""}${hint(res.status)}`,
      status: res.status,
      ...(parsed.kind === "json" && said ? { msgKey: said } : {}),
      secrets,
    });
  }

  private failure(op: string, message: MailcowMessage, secrets: readonly string[] = []): MailcowError {
    const args = message.args.length > 0 ? ` (${message.args.join(", ")})` : "";
    return new MailcowError({
      kind: kindForMessageKey(message.key),
      operation: op,
      detail: `Mailcow refused: ${message.key}${args}`,
      status: 200,
      msgKey: message.key,
      msgArgs: message.args,
      secrets: [this.apiKey, ...secrets],
    });
  }

  private shape<T>(op: string, fn: () => T, secrets: readonly string[] = []): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ShapeError) throw this.protocol(op, `unexpected answer: ${err.message}`, secrets);
      throw err;
    }
  }

  private protocol(op: string, detail: string, secrets: readonly string[] = []): MailcowError {
    return new MailcowError({ kind: "protocol", operation: op, detail, secrets: [this.apiKey, ...secrets] });
  }

  /** Bad input caught before any request: a validation error, like Mailcow's own. */
  private checkRateLimit(op: string, limit: RateLimit): void {
    if (!Number.isInteger(limit.value) || limit.value < 0) {
      throw this.invalid(op, `rate limit value ${limit.value} must be a whole number >= 0 (0 clears the limit)`);
    }
    if (!["s", "m", "h", "d"].includes(limit.frame)) {
      throw this.invalid(op, `rate limit frame ${JSON.stringify(limit.frame)} must be one of s, m, h, d`);
    }
  }

  private invalid(op: string, detail: string): MailcowError {
    return new MailcowError({ kind: "validation", operation: op, detail, secrets: [this.apiKey] });
  }
}

function messageText(m: MailcowMessage): string {
  return m.args.length > 0 ? `${m.key} (${m.args.join(", ")})` : m.key;
}

function withWarnings<T>(result: EnsureResult<T>, warnings: MailcowMessage[]): EnsureResult<T> {
  return warnings.length > 0 ? { ...result, warnings: warnings.map(messageText) } : result;
}

function hint(status: number): string {
  if (status === 401) return " (check MAILCOW_API_KEY and Mailcow's API allow-list for this source IP)";
  if (status === 403) return " (a read-only key, or a Sec-Fetch-Dest header, cannot write)";
  if (status === 404) return " (check MAILCOW_API_URL)";
  return "";
}

function checkLimits(op: string, limits: DomainLimits): void {
  const problems: string[] = [];
  for (const key of ["aliases", "mailboxes", "defquotaMb", "maxquotaMb", "quotaMb"] as const) {
    const value = limits[key];
    if (!Number.isInteger(value) || value < 0) problems.push(`${key} ${value} must be a whole number >= 0`);
  }
  if (limits.defquotaMb > limits.maxquotaMb) {
    problems.push(`defquotaMb ${limits.defquotaMb} must not exceed maxquotaMb ${limits.maxquotaMb}`);
  }
  if (limits.maxquotaMb > limits.quotaMb) {
    problems.push(`maxquotaMb ${limits.maxquotaMb} must not exceed quotaMb ${limits.quotaMb}`);
  }
  if (problems.length > 0) {
    throw new MailcowError({ kind: "validation", operation: op, detail: `domain limits: ${problems.join("; ")}` });
  }
}
