/**
 * The Mailcow double's data and business rules: what `functions.mailbox.inc.php`, `functions.dkim.inc.php` and
 * `functions.ratelimit.inc.php` do, as mailcow-notes §2 describes them and as Mailcow 2026-07a was measured to answer
 * (issue 12). Every write answers Mailcow's envelope (`[{type, log, msg}]`, HTTP 200 even for `danger`); `msg` is a
 * bare key where Mailcow gives no arguments, numeric arguments are JSON numbers. Every GET answers Mailcow's raw shape
 * (`{}` when nothing). Numbers are a mix of ints and strings, and quotas are bytes, as the real API returns them.
 * A method that throws `UncaughtPhpError` stands for an uncaught PHP exception: HTTP 200 with an empty body.
 */
import { generateKeyPair } from "node:crypto";
import { promisify } from "node:util";

const generateKeyPairAsync = promisify(generateKeyPair);

export interface DoubleDomain {
  domain: string;
  description: string;
  aliases: number;
  mailboxes: number;
  /** MiB, as written by add/domain. */
  defquota: number;
  maxquota: number;
  quota: number;
  active: 0 | 1;
  /** Domain rate limit as Redis keeps it; null = none. */
  rl: { value: string; frame: string } | null;
  created: string;
  /** null until the first edit, as the column is. */
  modified: string | null;
}

export interface DoubleMailbox {
  username: string;
  local_part: string;
  domain: string;
  name: string;
  password: string;
  /** MiB; 0 = unlimited. */
  quota: number;
  active: 0 | 1;
  created: string;
}

export interface DoubleDkim {
  domain: string;
  selector: string;
  length: number;
  /** base64 of the SubjectPublicKeyInfo DER, as Mailcow stores it in `DKIM_PUB_KEYS`. */
  pubkey: string;
  privateKeyPem: string;
}

export type EntryType = "success" | "danger" | "warning" | "info" | "error";

export interface Entry {
  type: EntryType;
  log?: unknown[];
  msg: string | unknown[];
}

/** What PHP does with an uncaught exception under Mailcow's handler: nothing printed, HTTP 200, an empty body. */
export class UncaughtPhpError extends Error {
  constructor(why: string) {
    super(why);
    this.name = "UncaughtPhpError";
  }
}

/** Tables a test can break (every query on one throws, as with a corrupt or missing table). */
export type DoubleTable = "domain";

/**
 * dockerapi as the web container sees it: `absent` (Kubernetes: no container; SOGo restarts fail with a warning,
 * maildir cleanups are only logged), `up` (tasks are recorded), `unreachable` (every call answers 500 with HTML).
 */
export type DockerApiState = "absent" | "up" | "unreachable";

export interface StateOptions {
  /** `MAILCOW_HOSTNAME`: a domain of that name is refused (`domain_cannot_match_hostname`). */
  hostname: string;
  /** Generate one RSA key per size and hand it to every domain (benchmarks); default false: a fresh key each time. */
  reuseDkimKeys?: boolean;
}

const MIB = 1024 * 1024;
const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;
const LOCAL_PART_RE = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+$/;
const SELECTOR_RE = /^[A-Za-z0-9._-]+$/;
const FRAMES = new Set(["s", "m", "h", "d"]);
/** Mailcow's Default domain template (`init_db.inc.php`). */
const TEMPLATE = { aliases: 400, mailboxes: 10, defquota: 3072, maxquota: 10240, quota: 10240, active: 1 };

/** PHP's `intval`, which is how Mailcow reads almost every numeric field. */
export function intval(value: unknown): number {
  if (typeof value === "number") return Number.isFinite(value) ? Math.trunc(value) : 0;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "string") {
    const m = /^\s*[+-]?\d+/.exec(value);
    return m ? Number.parseInt(m[0], 10) : 0;
  }
  return 0;
}

/** PHP's `empty()` for request fields: absent, "", "0", 0, false, null, []. */
function phpEmpty(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    value === "" ||
    value === "0" ||
    value === 0 ||
    value === false ||
    (Array.isArray(value) && value.length === 0)
  );
}

/** PHP's `(array)` cast of a request field: a list stays, an object gives its values, a scalar becomes `[x]`. */
function asItems(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (value !== null && typeof value === "object") return Object.values(value);
  return value === undefined || value === null ? [] : [value];
}

function now(): string {
  return new Date().toISOString().replace("T", " ").slice(0, 19);
}

/** A bare key when there are no arguments (`'msg' => 'domain_invalid'`), else `[key, …args]`. */
function msgOf(key: string, args: (string | number)[]): Entry["msg"] {
  return args.length === 0 ? key : [key, ...args];
}

function danger(log: unknown[], key: string, ...args: (string | number)[]): Entry {
  return { type: "danger", log, msg: msgOf(key, args) };
}

function success(log: unknown[], key: string, ...args: (string | number)[]): Entry {
  return { type: "success", log, msg: msgOf(key, args) };
}

function text(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value) ?? "");
}

/** The log part Mailcow echoes, with passwords masked like `'*'`. */
function logData(data: unknown): unknown {
  if (data === null || typeof data !== "object" || Array.isArray(data)) return data;
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, k === "password" || k === "password2" ? "*" : v]));
}

export class MailcowDoubleState {
  readonly domains = new Map<string, DoubleDomain>();
  readonly mailboxes = new Map<string, DoubleMailbox>();
  readonly dkim = new Map<string, DoubleDkim>();
  /** Tables whose every query throws (see `UncaughtPhpError`). */
  readonly brokenTables = new Set<DoubleTable>();
  dockerapi: DockerApiState = "absent";
  /** Maildirs handed to dockerapi's `maildir cleanup` (moved to the garbage folder), when it is `up`. */
  readonly maildirCleanups: string[] = [];
  /**
   * Redis' `PASSWD_POLICY` (only its length is modelled). None by default, as on a fresh install: the admin UI sets
   * one when an admin saves it.
   */
  passwordPolicy: { length: number } = { length: 0 };
  private readonly keyCache = new Map<number, Promise<{ pubkey: string; privateKeyPem: string }>>();

  constructor(readonly options: StateOptions) {}

  // ---- seeding (tests set up state without going through HTTP) -------------------------------------------------

  seedDomain(domain: string, fields: Partial<Omit<DoubleDomain, "domain">> = {}): DoubleDomain {
    const d: DoubleDomain = {
      domain: domain.toLowerCase(),
      description: domain,
      ...TEMPLATE,
      active: 1,
      rl: null,
      created: now(),
      modified: null,
      ...fields,
    };
    this.domains.set(d.domain, d);
    return d;
  }

  seedMailbox(username: string, fields: Partial<Omit<DoubleMailbox, "username">> = {}): DoubleMailbox {
    const [local, domain] = username.toLowerCase().split("@") as [string, string];
    const m: DoubleMailbox = {
      username: username.toLowerCase(),
      local_part: local,
      domain,
      name: local,
      password: "seeded-password",
      quota: 1024,
      active: 1,
      created: now(),
      ...fields,
    };
    this.mailboxes.set(m.username, m);
    return m;
  }

  async seedDkim(domain: string, selector = "dkim", bits = 2048): Promise<DoubleDkim> {
    const key = await this.newKey(bits);
    const d: DoubleDkim = { domain: domain.toLowerCase(), selector, length: bits, ...key };
    this.dkim.set(d.domain, d);
    return d;
  }

  mailboxesOf(domain: string): DoubleMailbox[] {
    return [...this.mailboxes.values()].filter((m) => m.domain === domain);
  }

  /** Throws `UncaughtPhpError` when `table` is broken. */
  query(table: DoubleTable): void {
    if (this.brokenTables.has(table)) throw new UncaughtPhpError(`table ${table} is broken`);
  }

  /**
   * `maildir cleanup` through dockerapi, as delete/mailbox and delete/domain do after the rows are gone. Without
   * dockerapi the answer carries a bare warning (the delete itself still succeeds).
   */
  private cleanupMaildir(maildir: string, log: unknown[], what: "maildir" | "mail storage"): Entry[] {
    if (this.dockerapi === "up") {
      this.maildirCleanups.push(maildir);
      return [];
    }
    return [{ type: "warning", log, msg: `Could not move ${what} to garbage collector: ` }];
  }

  // ---- writes -------------------------------------------------------------------------------------------------

  async addDomain(data: Record<string, unknown>): Promise<Entry[]> {
    const log = ["mailbox", "add", "domain", logData(data), null];
    const domain = text(data.domain ?? "")
      .trim()
      .toLowerCase();
    const out: Entry[] = [];
    const num = (field: keyof typeof TEMPLATE) => (data[field] === undefined ? TEMPLATE[field] : intval(data[field]));
    const aliases = num("aliases");
    const mailboxes = num("mailboxes");
    const defquota = num("defquota");
    const maxquota = num("maxquota");
    const quota = num("quota");
    // Upstream's order: the quota checks come before the name is looked at.
    if (defquota > maxquota) return [danger(log, "mailbox_defquota_exceeds_mailbox_maxquota")];
    if (maxquota > quota) return [danger(log, "mailbox_quota_exceeds_domain_quota")];
    if (defquota < 1) return [danger(log, "defquota_empty")];
    if (maxquota < 1) return [danger(log, "maxquota_empty")];
    if (!DOMAIN_RE.test(domain)) return [danger(log, "domain_invalid")];
    this.query("domain");
    if (this.domains.has(domain)) return [danger(log, "domain_exists", domain)];
    if (domain === this.options.hostname.toLowerCase()) return [danger(log, "domain_cannot_match_hostname")];
    const description = data.description === undefined ? "" : text(data.description);
    this.seedDomain(domain, {
      // An empty description becomes the domain name.
      description: description === "" ? domain : description,
      aliases,
      mailboxes,
      defquota,
      maxquota,
      quota,
      active: data.active === undefined ? 1 : intval(data.active) ? 1 : 0,
    });
    // Both rl fields non-empty → ratelimit('edit', 'domain').
    if (!phpEmpty(data.rl_value) && !phpEmpty(data.rl_frame)) {
      out.push(...this.editDomainRateLimit([domain], { rl_value: data.rl_value, rl_frame: data.rl_frame }));
    }
    // The implicit DKIM key: selector defaults to "dkim", key_size to 2048; empty either one skips it.
    const selector = data.dkim_selector === undefined ? "dkim" : data.dkim_selector;
    const keySize = data.key_size === undefined ? 2048 : data.key_size;
    if (!phpEmpty(selector) && !phpEmpty(keySize) && !this.dkim.has(domain)) {
      out.push(...(await this.addDkim({ domains: domain, dkim_selector: selector, key_size: keySize })));
    }
    // restart_sogo goes through dockerapi; without it: a bare warning and no domain_added (the domain is made).
    if (!phpEmpty(data.restart_sogo) && this.dockerapi !== "up") {
      out.push({ type: "warning", log, msg: "domain_added_sogo_failed" });
      return out;
    }
    out.push(success(log, "domain_added", domain));
    return out;
  }

  editDomain(items: unknown, attr: Record<string, unknown>): Entry[] {
    const log = ["mailbox", "edit", "domain", { domain: items, ...(logData(attr) as object) }, null];
    const out: Entry[] = [];
    this.query("domain");
    for (const item of asItems(items)) {
      const name = text(item).toLowerCase();
      const d = this.domains.get(name);
      if (!d) {
        out.push(danger(log, "domain_invalid"));
        continue;
      }
      const next = { ...d };
      if (attr.active !== undefined) next.active = intval(attr.active) ? 1 : 0;
      if (attr.description !== undefined) next.description = text(attr.description);
      for (const field of ["aliases", "mailboxes", "defquota", "maxquota", "quota"] as const) {
        if (attr[field] !== undefined) next[field] = intval(attr[field]);
      }
      // rl_value/rl_frame are listed by the spec but ignored by the code (use edit/rl-domain).
      const boxes = this.mailboxesOf(name);
      if (next.mailboxes < boxes.length) {
        out.push(danger(log, "mailboxes_in_use", boxes.length));
        continue;
      }
      const largest = Math.max(0, ...boxes.map((b) => b.quota));
      if (next.maxquota < largest) {
        out.push(danger(log, "max_quota_in_use", largest));
        continue;
      }
      const used = boxes.reduce((sum, b) => sum + b.quota, 0);
      if (next.quota < used) {
        out.push(danger(log, "domain_quota_m_in_use", used));
        continue;
      }
      if (next.defquota > next.maxquota) {
        out.push(danger(log, "mailbox_defquota_exceeds_mailbox_maxquota"));
        continue;
      }
      next.modified = now();
      this.domains.set(name, next);
      out.push(success(log, "domain_modified", name));
    }
    return out;
  }

  editDomainRateLimit(items: unknown, attr: Record<string, unknown>): Entry[] {
    const log = ["ratelimit", "edit", "domain", { object: items, ...attr }];
    const out: Entry[] = [];
    const frame = text(attr.rl_frame ?? "");
    for (const item of asItems(items)) {
      const name = text(item).toLowerCase();
      if (!FRAMES.has(frame)) {
        out.push(danger(log, "rl_timeframe"));
        continue;
      }
      const d = this.domains.get(name);
      if (!d) {
        out.push(danger(log, "access_denied"));
        continue;
      }
      const value = intval(attr.rl_value);
      d.rl = phpEmpty(attr.rl_value) || value === 0 ? null : { value: String(value), frame };
      out.push(success(log, "rl_saved", name));
    }
    return out;
  }

  deleteDomains(body: unknown): Entry[] {
    const log = ["mailbox", "delete", "domain", { domain: body }, null];
    const out: Entry[] = [];
    for (const item of asItems(body)) {
      // `{items:[…]}` arrives as one item that is a list: PHP's string functions throw a TypeError on it.
      if (typeof item !== "string") throw new UncaughtPhpError("delete/domain item is not a string");
      const name = item.toLowerCase();
      if (!DOMAIN_RE.test(name)) {
        out.push(danger(log, "domain_invalid"));
        continue;
      }
      if (this.mailboxesOf(name).length > 0) {
        out.push(danger(log, "domain_not_empty", name));
        continue;
      }
      // No existence check upstream either; the DKIM key stays (delete/dkim removes it).
      this.domains.delete(name);
      out.push(...this.cleanupMaildir(`${name}/`, log, "mail storage"));
      out.push(success(log, "domain_removed", name));
    }
    return out;
  }

  async addDkim(data: Record<string, unknown>): Promise<Entry[]> {
    const log = ["dkim", "add", logData(data)];
    const selector = data.dkim_selector === undefined ? "dkim" : text(data.dkim_selector);
    const bits = intval(data.key_size);
    const out: Entry[] = [];
    const domains = text(data.domains ?? "")
      .split(/[\s,;]+/)
      .map((d) => d.trim().toLowerCase())
      .filter((d) => d !== "");
    for (const domain of domains) {
      // Any size is accepted upstream (openssl is asked for exactly that many bits).
      if (!SELECTOR_RE.test(selector) || bits < 1) {
        out.push(danger(log, "dkim_domain_or_sel_invalid", domain));
        continue;
      }
      if (!this.domains.has(domain)) {
        out.push(danger(log, "access_denied", domain));
        continue;
      }
      if (this.dkim.has(domain)) {
        out.push(danger(log, "dkim_domain_or_sel_invalid", domain));
        continue;
      }
      const key = await this.newKey(bits);
      // Another request may have made one while the key was generated.
      if (this.dkim.has(domain)) {
        out.push(danger(log, "dkim_domain_or_sel_invalid", domain));
        continue;
      }
      this.dkim.set(domain, { domain, selector, length: bits, ...key });
      out.push(success(log, "dkim_added", domain));
    }
    return out.length > 0 ? out : [danger(log, "dkim_domain_or_sel_invalid", "")];
  }

  deleteDkim(body: unknown): Entry[] {
    const log = ["dkim", "delete", { domains: body }];
    return asItems(body).map((item) => {
      if (typeof item !== "string") throw new UncaughtPhpError("delete/dkim item is not a string");
      const name = item.toLowerCase();
      if (!DOMAIN_RE.test(name)) return danger(log, "domain_invalid");
      this.dkim.delete(name);
      return success(log, "dkim_removed", name);
    });
  }

  addMailbox(data: Record<string, unknown>): Entry[] {
    const log = ["mailbox", "add", "mailbox", logData(data), null];
    const local = text(data.local_part ?? "")
      .trim()
      .toLowerCase();
    const domain = text(data.domain ?? "")
      .trim()
      .toLowerCase();
    const username = `${local}@${domain}`;
    if (!LOCAL_PART_RE.test(local)) return [danger(log, "mailbox_invalid")];
    if (!DOMAIN_RE.test(domain)) return [danger(log, "domain_invalid")];
    this.query("domain");
    const d = this.domains.get(domain);
    // The domain-access check comes first and fails for a domain that does not exist: never domain_not_found.
    if (!d) return [danger(log, "access_denied")];
    if (this.mailboxes.has(username)) return [danger(log, "object_exists", username)];
    // password_check(): an empty one fails the policy first, then a mismatch, then the policy.
    const password = typeof data.password === "string" ? data.password : "";
    const password2 = typeof data.password2 === "string" ? data.password2 : "";
    const pwLog = ["password_check", null, null];
    if (password === "" || password2 === "") return [danger(pwLog, "password_complexity")];
    if (password !== password2) return [danger(pwLog, "password_mismatch")];
    if (password.length < this.passwordPolicy.length) return [danger(pwLog, "password_complexity")];
    const boxes = this.mailboxesOf(domain);
    if (boxes.length >= d.mailboxes) return [danger(log, "max_mailbox_exceeded", boxes.length, d.mailboxes)];
    // No quota means 0: unlimited.
    const quota = intval(data.quota);
    if (quota > d.maxquota) return [danger(log, "mailbox_quota_exceeded", d.maxquota)];
    const used = boxes.reduce((sum, b) => sum + b.quota, 0);
    if (used + quota > d.quota) return [danger(log, "mailbox_quota_left_exceeded", d.quota - used)];
    this.seedMailbox(username, {
      name: data.name === undefined ? "" : text(data.name),
      password,
      quota,
      active: data.active === undefined ? 1 : intval(data.active) ? 1 : 0,
    });
    // The mailbox's default rate limit is saved first (ratelimit('edit', 'mailbox')), then the add is reported.
    return [
      success(["ratelimit", "edit", "mailbox", { object: username }], "rl_saved", username),
      success(log, "mailbox_added", username),
    ];
  }

  deleteMailboxes(body: unknown): Entry[] {
    const log = ["mailbox", "delete", "mailbox", { username: body }, null];
    return asItems(body).flatMap((item) => {
      const username = typeof item === "string" ? item.toLowerCase() : "";
      // A missing mailbox fails the access check, like a malformed one; the others in the batch still go.
      if (!/^[^@\s]+@[^@\s]+$/.test(username) || !this.mailboxes.has(username)) return [danger(log, "access_denied")];
      this.mailboxes.delete(username);
      const [local, domain] = username.split("@") as [string, string];
      return [...this.cleanupMaildir(`${domain}/${local}/`, log, "maildir"), success(log, "mailbox_removed", username)];
    });
  }

  // ---- reads (Mailcow's raw shapes) -----------------------------------------------------------------------------

  domainView(d: DoubleDomain): Record<string, unknown> {
    const boxes = this.mailboxesOf(d.domain);
    const used = boxes.reduce((sum, b) => sum + b.quota, 0);
    return {
      active: d.active,
      active_int: d.active,
      aliases_in_domain: 0,
      aliases_left: d.aliases,
      backupmx: 0,
      backupmx_int: 0,
      bytes_total: 0,
      def_new_mailbox_quota: Math.min(d.defquota, d.quota - used) * MIB,
      def_quota_for_mbox: d.defquota * MIB,
      description: d.description,
      domain_name: d.domain,
      domain_h_name: d.domain,
      gal: 1,
      gal_int: 1,
      max_new_mailbox_quota: Math.min(d.maxquota, d.quota - used) * MIB,
      max_num_aliases_for_domain: d.aliases,
      max_num_mboxes_for_domain: d.mailboxes,
      max_quota_for_domain: d.quota * MIB,
      max_quota_for_mbox: d.maxquota * MIB,
      mboxes_in_domain: boxes.length,
      mboxes_left: d.mailboxes - boxes.length,
      msgs_total: 0,
      quota_used_in_domain: String(used * MIB),
      relay_all_recipients: 0,
      relay_all_recipients_int: 0,
      relay_unknown_only: 0,
      relay_unknown_only_int: 0,
      relayhost: "0",
      rl: d.rl ? { ...d.rl } : false,
      created: d.created,
      modified: d.modified,
      domain_admins: "-",
    };
  }

  /** `get/mailbox/…` as 2026-07a answers for a mailbox made through the API (no tags, no logins yet). */
  mailboxView(m: DoubleMailbox): Record<string, unknown> {
    const d = this.domains.get(m.domain);
    const used = this.mailboxesOf(m.domain).reduce((sum, b) => sum + b.quota, 0);
    const maxNew = d ? Math.min(d.maxquota, d.quota - used + m.quota) : m.quota;
    return {
      username: m.username,
      active: m.active,
      active_int: m.active,
      domain: m.domain,
      name: m.name,
      local_part: m.local_part,
      quota: m.quota * MIB,
      messages: 0,
      attributes: {
        force_pw_update: "0",
        force_tfa: "0",
        tls_enforce_in: "0",
        tls_enforce_out: "0",
        sogo_access: "1",
        imap_access: "1",
        pop3_access: "1",
        smtp_access: "1",
        sieve_access: "1",
        eas_access: "1",
        dav_access: "1",
        relayhost: "0",
        passwd_update: m.created,
        mailbox_format: "maildir:",
        quarantine_notification: "hourly",
        quarantine_category: "reject",
        attribute_hash: "",
      },
      // PHP encodes an empty array as [].
      custom_attributes: [],
      quota_used: 0,
      // No quota (unlimited) reads "- ", as upstream renders it.
      percent_in_use: m.quota === 0 ? "- " : 0,
      created: m.created,
      modified: m.created,
      authsource: "mailcow",
      percent_class: m.quota === 0 ? "info" : "success",
      last_imap_login: 0,
      last_smtp_login: 0,
      last_pop3_login: 0,
      last_sso_login: 0,
      max_new_quota: maxNew * MIB,
      spam_aliases: 0,
      pushover_active: 0,
      // Without a mailbox limit of its own, the domain's applies (rl_scope "domain").
      rl: d?.rl ? { ...d.rl } : false,
      rl_scope: "domain",
      is_relayed: 0,
      sender_acl: [],
    };
  }

  dkimView(k: DoubleDkim): Record<string, unknown> {
    return {
      pubkey: k.pubkey,
      length: String(k.length),
      dkim_txt: `v=DKIM1;k=rsa;t=s;s=email;p=${k.pubkey}`,
      dkim_selector: k.selector,
      privkey: "",
    };
  }

  private newKey(bits: number): Promise<{ pubkey: string; privateKeyPem: string }> {
    const make = async () => {
      // Mailcow accepts any size; the double keeps generation bounded (512–4096 bits) and reports the size asked.
      const { publicKey, privateKey } = await generateKeyPairAsync("rsa", {
        modulusLength: Math.min(Math.max(bits, 512), 4096),
        publicKeyEncoding: { type: "spki", format: "der" },
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
      });
      return { pubkey: publicKey.toString("base64"), privateKeyPem: privateKey };
    };
    if (!this.options.reuseDkimKeys) return make();
    let cached = this.keyCache.get(bits);
    if (!cached) {
      cached = make();
      this.keyCache.set(bits, cached);
    }
    return cached;
  }
}
