/**
 * `MailcowApi` over Mailcow's REST API (mailcow-notes §2). Plain `node:http`/`node:https`, because a custom CA with
 * global fetch needs undici's dispatcher, which we avoid on Node 20.
 *
 * Rules the client keeps: `X-API-Key` auth; JSON bodies; no `Sec-Fetch-Dest` (Mailcow answers 403 to anything but
 * `empty`); every `add/*` preceded by a GET because Mailcow's adds are not idempotent; deletes idempotent (a missing
 * object is re-read and reported `not-found`, never a refusal); one HTTP attempt per request, because the reconciler
 * is the only retry layer; every failure a `MailcowError` with a typed `kind` and `retryable`, without the API key in
 * it. Mailcow's PHP session cookie is kept and sent back, so calls share one session in Redis instead of opening one
 * each (docs/decisions/0120). A call given an `AbortSignal` stops as soon as it aborts (the request destroyed) and
 * rejects with an `AbortError` instead.
 */
import http from "node:http";
import https from "node:https";
import { domainToASCII } from "node:url";
import { z } from "zod";
import { abortError, isAbortError } from "../clock";
import type {
  CallOptions,
  DkimKey,
  DomainLimits,
  EnsureDomainOptions,
  EnsureResult,
  Mailbox,
  MailcowApi,
  MailcowDomain,
  NewMailbox,
  RateLimit,
} from "./api";
import { DKIM_KEY_SIZES } from "./api";
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

/** No rate limit (Mailcow's default): value 0 clears any limit set before. */
export const DEFAULT_RATE_LIMIT: Readonly<RateLimit> = Object.freeze({ value: 0, frame: "s" });

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_DKIM_KEY_SIZE = 2048;

/** Mailcow's session cookie (`$SESSION_NAME` in `vars.inc.php`). */
const SESSION_COOKIE = "MCSESSID";

/** The subset of a pino logger the client uses; a pino `Logger` fits. */
export interface MailcowLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface MailcowRequestInfo {
  method: "GET" | "POST";
  /** Path after the base URL, e.g. `/api/v1/get/domain/example.com`. */
  path: string;
}

export interface MailcowClientOptions {
  /** e.g. `http://mailcow-nginx.mail-zone.svc.cluster.local:8080`; the client appends `/api/v1/...`. */
  baseUrl: string;
  /** The read-write API key (`API_KEY`). */
  apiKey: string;
  /** Per request, from sending to the last body byte. Default 10000. */
  timeoutMs?: number;
  /** PEM CA bundle for an `https` base URL with a private CA. Certificate verification is always on. */
  ca?: string | Buffer;
  logger?: MailcowLogger;
  /** Called before every HTTP request (benchmarks count calls with it). */
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
});

type Method = "GET" | "POST";

interface RawResponse {
  status: number;
  text: string;
  /** The value of Mailcow's session cookie when the answer set one. */
  session?: string;
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

/** Connection failures where nothing reached Mailcow. */
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
  private readonly agent: http.Agent;
  private readonly logger: MailcowLogger | undefined;
  private readonly onRequest: ((info: MailcowRequestInfo) => void) | undefined;
  /** Mailcow's session id from the last clean answer; sent back so calls share one session (see `send`). */
  private session: string | undefined;

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
    options?: EnsureDomainOptions,
  ): Promise<EnsureResult<MailcowDomain>> {
    const op = "ensureDomain";
    const signal = options?.signal;
    const name = this.domainName(op, domain);
    checkLimits(op, limits);
    if (rateLimit) this.checkRateLimit(op, rateLimit);
    const existing = options?.expectAbsent ? null : await this.fetchDomain(op, name, signal);
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

  async setDomainOwner(domain: string, owner: string, description: string, options?: CallOptions): Promise<void> {
    const op = "setDomainOwner";
    const name = this.domainName(op, domain);
    const attr = { description: describeOwnedDomain(owner, description) };
    await this.writeOk(op, "edit/domain", { items: [name], attr }, [], options?.signal);
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
    if (!(DKIM_KEY_SIZES as readonly number[]).includes(keySize)) {
      throw this.invalid(op, `DKIM key size ${keySize} must be one of ${DKIM_KEY_SIZES.join(", ")}`);
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
    const outcome = await this.write(
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
    if (!outcome.ok) {
      // Mailcow checks access to the domain before it exists, so a missing domain answers access_denied.
      if (outcome.failure.key === "access_denied" && !(await this.fetchDomain(op, domain))) {
        throw this.notFound(op, `domain ${domain} does not exist in Mailcow`, outcome.failure, [mailbox.password]);
      }
      throw this.failure(op, outcome.failure, [mailbox.password]);
    }
    // Built from what Mailcow accepted rather than fetched: saves a GET per mailbox.
    return { username: `${localPart}@${domain}`, localPart, domain, name, active: true, quotaMb: mailbox.quotaMb };
  }

  async deleteMailbox(address: string): Promise<void> {
    const op = "deleteMailbox";
    const username = address.trim().toLowerCase();
    const at = username.lastIndexOf("@");
    if (at <= 0) throw this.invalid(op, `${JSON.stringify(address)} is not a mailbox address`);
    const domain = this.domainName(op, username.slice(at + 1));
    const outcome = await this.write(op, "delete/mailbox", [username]);
    if (outcome.ok) return;
    // A missing mailbox answers access_denied: re-read, and a mailbox that is gone is reported as not there.
    if (outcome.failure.key === "access_denied") {
      const left = await this.mailboxesOf(op, domain);
      if (!left.some((m) => m.username === username)) {
        throw this.notFound(op, `mailbox ${username} does not exist in Mailcow`, outcome.failure);
      }
    }
    throw this.failure(op, outcome.failure);
  }

  async purgeDomain(domain: string, options?: CallOptions): Promise<void> {
    const op = "purgeDomain";
    const signal = options?.signal;
    const name = this.domainName(op, domain);
    // Order matters: delete/domain refuses a domain that still has mailboxes, and it leaves the DKIM key behind.
    const mailboxes = await this.mailboxesOf("listMailboxes", name, signal);
    if (mailboxes.length > 0) {
      const usernames = mailboxes.map((m) => m.username);
      const outcome = await this.write(op, "delete/mailbox", usernames, [], signal);
      if (!outcome.ok) {
        // One that vanished since the list answers access_denied while the others go: gone is done.
        const gone = outcome.failure.key === "access_denied";
        const left = gone ? await this.mailboxesOf(op, name, signal) : [];
        if (!gone || left.some((m) => usernames.includes(m.username))) throw this.failure(op, outcome.failure);
      }
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
    const parsed = parseBody(res.text, this.secrets());
    // Absent is always `{}`; nothing at all is an uncaught PHP exception (a database error), worth another try.
    if (parsed.kind === "empty") throw this.emptyBody(op, "GET", route);
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
    const parsed = parseBody(res.text, [...this.secrets(), ...secrets]);
    if (parsed.kind === "empty") throw this.emptyBody(op, "POST", route, secrets);
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
   * One HTTP exchange; resolves with a 200 answer, rejects with a MailcowError, or with an AbortError once `signal`
   * aborts. Never retried here: a failure says whether it is `retryable`, and the reconciler decides.
   *
   * The session cookie Mailcow sets is sent back on the next calls (one Redis session instead of one per call). It is
   * kept only from a clean answer (HTTP 200 with a body): an uncaught PHP exception can leave entries in the session
   * that a later call would echo, so any other outcome drops it and the next call starts a fresh session.
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
    const allSecrets = [...this.secrets(), ...secrets];
    if (signal?.aborted) throw abortError();
    this.onRequest?.({ method, path });
    const started = Date.now();
    const session = this.session;
    let res: RawResponse;
    try {
      res = await this.attempt(method, path, body, session, signal);
    } catch (err) {
      this.dropSession(session);
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
      throw new MailcowError({
        kind: tls ? "protocol" : "transient",
        operation: op,
        detail: `${method} ${route} failed: ${what}${failure.sent ? "" : " (nothing reached Mailcow)"}`,
        code: failure.code,
        secrets: allSecrets,
      });
    }
    this.logger?.debug({ op, method, path, status: res.status, ms: Date.now() - started }, "mailcow call");
    if (res.status === 200 && res.text.trim() !== "") {
      if (res.session !== undefined) this.session = res.session;
      return res;
    }
    this.dropSession(session);
    if (res.status === 200) return res;
    throw this.httpError(op, method, route, res, allSecrets);
  }

  /** Forgets the session a failed call used (not one a concurrent call has set since). */
  private dropSession(used: string | undefined): void {
    if (this.session === used) this.session = undefined;
  }

  /** The strings no message may contain: the API key, and the session id, which is as good as the key while it lives. */
  private secrets(): string[] {
    return this.session === undefined ? [this.apiKey] : [this.apiKey, this.session];
  }

  private attempt(
    method: Method,
    path: string,
    body: string | undefined,
    session: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<RawResponse> {
    const transport = this.base.protocol === "https:" ? https : http;
    const headers: http.OutgoingHttpHeaders = { "X-API-Key": this.apiKey, Accept: "application/json" };
    if (session !== undefined) headers.Cookie = `${SESSION_COOKIE}=${session}`;
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
          res.on("end", () => {
            const session = sessionFrom(res.headers["set-cookie"]);
            const text = Buffer.concat(chunks).toString("utf8");
            finish(() => resolve({ status: res.statusCode ?? 0, text, ...(session ? { session } : {}) }));
          });
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
      secrets: [...this.secrets(), ...secrets],
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
    return new MailcowError({ kind: "protocol", operation: op, detail, secrets: [...this.secrets(), ...secrets] });
  }

  private emptyBody(op: string, method: Method, route: string, secrets: readonly string[] = []): MailcowError {
    return new MailcowError({
      kind: "protocol",
      retryable: true,
      operation: op,
      detail: `${method} ${route} answered HTTP 200 with an empty body (an uncaught error in Mailcow, e.g. its database)`,
      status: 200,
      secrets: [...this.secrets(), ...secrets],
    });
  }

  /** The object a call named is not there (found out by re-reading after Mailcow's answer). */
  private notFound(op: string, detail: string, said: MailcowMessage, secrets: readonly string[] = []): MailcowError {
    return new MailcowError({
      kind: "not-found",
      operation: op,
      detail,
      status: 200,
      msgKey: said.key,
      msgArgs: said.args,
      secrets: [...this.secrets(), ...secrets],
    });
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

/** The session id from `Set-Cookie` headers, if Mailcow set its session cookie. */
function sessionFrom(setCookie: string[] | undefined): string | undefined {
  for (const line of setCookie ?? []) {
    const m = new RegExp(`^\\s*${SESSION_COOKIE}=([^;\\s]+)`).exec(line);
    // PHP sets "deleted" to expire a destroyed session.
    if (m?.[1] && m[1] !== "deleted") return m[1];
  }
  return undefined;
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
