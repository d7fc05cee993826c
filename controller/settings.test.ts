import { describe, expect, it } from "vitest";
import { hostnameFromApiUrl, loadSettings, SettingsError, secretValues } from "./settings";

const TOKEN_A = "a".repeat(40);
const TOKEN_B = "b".repeat(32);

const base = {
  MAILCOW_API_URL: "http://mailcow-nginx.mail-zone.svc.cluster.local:8080",
  MAILCOW_API_KEY: "mailcow-key-123456",
  MAILCOW_HOSTNAME: "mail.example.net",
  CONTROLLER_TOKENS: TOKEN_A,
  PULUMI_CONFIG_PASSPHRASE: "correct horse battery staple",
  DATA_DIR: "/data",
  ALLOWED_DOMAIN_SUFFIXES: "sites.example",
};

function problemsOf(env: Record<string, string | undefined>, readFile?: (f: string) => string): string[] {
  try {
    loadSettings(env, readFile);
  } catch (err) {
    if (err instanceof SettingsError) return err.problems;
    throw err;
  }
  throw new Error("expected the settings to be rejected");
}

describe("loadSettings", () => {
  it("fills every default from a minimal environment", () => {
    const s = loadSettings(base);
    expect(s.annotationPrefix).toBe("voxeil.io");
    expect(s.siteLayout).toBe("namespace-per-site");
    expect(s.namespaceTemplate).toBe("tenant-{slug}");
    expect(s.pulumi.backendUrl).toBe("file:///data/pulumi-state");
    expect(s.dns.provider).toBe("manual");
    expect(s.dkim).toEqual({ selector: "dkim", keySize: 2048 });
    expect(s.maxParallelRuns).toBe(4);
    expect(s.port).toBe(8080);
    expect(s.tokens).toEqual([TOKEN_A]);
    expect(s.mailcow.hostname).toBe("mail.example.net");
  });

  it("takes BODY_LIMIT in bytes, kilobytes or megabytes, in either case, and names it when it is not a size", () => {
    expect(loadSettings(base).bodyLimit).toBe("16kb");
    expect(loadSettings({ ...base, BODY_LIMIT: "2MB" }).bodyLimit).toBe("2mb");
    expect(loadSettings({ ...base, BODY_LIMIT: "512b" }).bodyLimit).toBe("512b");
    for (const bad of ["16k", "kb", "1.5mb", "16 kb", "1gb"]) {
      expect(problemsOf({ ...base, BODY_LIMIT: bad }).join("\n"), bad).toMatch(/BODY_LIMIT.*a size like 16kb/);
    }
  });

  it("accepts several comma-separated tokens for rotation", () => {
    const s = loadSettings({ ...base, CONTROLLER_TOKENS: `${TOKEN_A}, ${TOKEN_B}` });
    expect(s.tokens).toEqual([TOKEN_A, TOKEN_B]);
  });

  it("reads the token and the passphrase from files", () => {
    const files: Record<string, string> = { "/run/token": `${TOKEN_B}\n`, "/run/pass": "from-file\n" };
    const s = loadSettings(
      {
        ...base,
        CONTROLLER_TOKENS: undefined,
        PULUMI_CONFIG_PASSPHRASE: undefined,
        CONTROLLER_TOKEN_FILE: "/run/token",
        PULUMI_CONFIG_PASSPHRASE_FILE: "/run/pass",
      },
      (f) => files[f] ?? "",
    );
    expect(s.tokens).toEqual([TOKEN_B]);
    expect(s.pulumi.passphraseFile).toBe("/run/pass");
    expect(s.pulumi.passphrase).toBeUndefined();
    // Pulumi reads the file itself, but its passphrase is still hidden wherever the controller redacts.
    expect(secretValues(s)).toContain("from-file");
  });

  it("names a missing required setting", () => {
    const problems = problemsOf({ ...base, MAILCOW_API_URL: undefined });
    expect(problems).toEqual(["MAILCOW_API_URL: required"]);
  });

  it("names every missing setting in one answer, the passphrase and the domain suffixes included", () => {
    const problems = problemsOf({});
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual([
      "ALLOWED_DOMAIN_SUFFIXES",
      "CONTROLLER_TOKENS",
      "MAILCOW_API_KEY",
      "MAILCOW_API_URL",
      "PULUMI_CONFIG_PASSPHRASE",
    ]);
  });

  it("requires ALLOWED_DOMAIN_SUFFIXES, taking * only as the deliberate choice of any domain", () => {
    const problems = problemsOf({ ...base, ALLOWED_DOMAIN_SUFFIXES: undefined });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^ALLOWED_DOMAIN_SUFFIXES: required: .*or \* to allow any domain/);
    expect(loadSettings({ ...base, ALLOWED_DOMAIN_SUFFIXES: "*" }).dns.allowedSuffixes).toBe("*");
    expect(problemsOf({ ...base, ALLOWED_DOMAIN_SUFFIXES: " , " })[0]).toMatch(/^ALLOWED_DOMAIN_SUFFIXES: required/);
  });

  it("keeps adoption of unmarked Mailcow domains and private name servers off unless asked for", () => {
    const s = loadSettings(base);
    expect(s.adoptUnmarkedDomains).toBe(false);
    expect(s.dnsCheck.allowPrivateNameServers).toBe(false);
    const on = loadSettings({ ...base, ADOPT_UNMARKED_DOMAINS: "true", DNS_CHECK_PRIVATE_NAMESERVERS: "true" });
    expect(on.adoptUnmarkedDomains).toBe(true);
    expect(on.dnsCheck.allowPrivateNameServers).toBe(true);
  });

  it("names a bad setting with its value and what it expects", () => {
    const problems = problemsOf({ ...base, SITE_LAYOUT: "per-user", MAX_PARALLEL_RUNS: "zero" });
    expect(problems.join("\n")).toMatch(/SITE_LAYOUT: .*namespace-per-site.*\(got "per-user"\)/);
    expect(problems.join("\n")).toMatch(/MAX_PARALLEL_RUNS: .*\(got "zero"\)/);
  });

  it("rejects a short token without printing it", () => {
    const problems = problemsOf({ ...base, CONTROLLER_TOKENS: `${TOKEN_A},short-secret-token` });
    expect(problems).toEqual(["CONTROLLER_TOKENS: token 2 has 18 characters; expected at least 32"]);
    expect(problems.join()).not.toContain("short-secret-token");
  });

  it("requires some token", () => {
    expect(problemsOf({ ...base, CONTROLLER_TOKENS: undefined })[0]).toMatch(/^CONTROLLER_TOKENS: required/);
  });

  it("requires a passphrase for the automation runner but not for the preview runner", () => {
    expect(problemsOf({ ...base, PULUMI_CONFIG_PASSPHRASE: undefined })[0]).toMatch(
      /^PULUMI_CONFIG_PASSPHRASE: required/,
    );
    expect(loadSettings({ ...base, PULUMI_CONFIG_PASSPHRASE: undefined, STACK_RUNNER: "preview" }).pulumi.runner).toBe(
      "preview",
    );
  });

  it("requires a Cloudflare token when Cloudflare is the DNS provider", () => {
    expect(problemsOf({ ...base, DNS_PROVIDER: "cloudflare" })).toEqual([
      "CLOUDFLARE_API_TOKEN: required when DNS_PROVIDER is cloudflare",
    ]);
  });

  it("requires MAILCOW_HOSTNAME when the API URL is a cluster-internal name", () => {
    expect(problemsOf({ ...base, MAILCOW_HOSTNAME: undefined })[0]).toMatch(/^MAILCOW_HOSTNAME: required/);
    const s = loadSettings({ ...base, MAILCOW_HOSTNAME: undefined, MAILCOW_API_URL: "https://mail.example.org" });
    expect(s.mailcow.hostname).toBe("mail.example.org");
  });

  it("treats empty variables as unset", () => {
    expect(loadSettings({ ...base, PORT: "", DNS_PROVIDER: "" }).port).toBe(8080);
  });

  it("normalises allowed suffixes and rejects junk", () => {
    expect(loadSettings({ ...base, ALLOWED_DOMAIN_SUFFIXES: "*.Example.com, .org" }).dns.allowedSuffixes).toEqual([
      "example.com",
      "org",
    ]);
    expect(problemsOf({ ...base, ALLOWED_DOMAIN_SUFFIXES: "exa mple" })[0]).toMatch(/^ALLOWED_DOMAIN_SUFFIXES/);
  });

  it("never prints a secret value in any problem", () => {
    const problems = problemsOf({ ...base, MAILCOW_API_KEY: "", CLOUDFLARE_API_TOKEN: "x", DNS_PROVIDER: "bogus" });
    expect(problems.join()).not.toContain(base.PULUMI_CONFIG_PASSPHRASE);
  });

  it("lists every secret it holds, longest first", () => {
    const s = loadSettings({ ...base, CONTROLLER_TOKENS: `${TOKEN_A},${TOKEN_B}` });
    expect(secretValues(s)).toEqual([TOKEN_A, TOKEN_B, base.PULUMI_CONFIG_PASSPHRASE, base.MAILCOW_API_KEY]);
  });
});

describe("hostnameFromApiUrl", () => {
  it("keeps public names and refuses cluster names and addresses", () => {
    expect(hostnameFromApiUrl("https://mail.example.org/api")).toBe("mail.example.org");
    expect(hostnameFromApiUrl("http://mailcow-nginx.mail-zone.svc.cluster.local:8080")).toBeUndefined();
    expect(hostnameFromApiUrl("http://127.0.0.1:1234")).toBeUndefined();
    expect(hostnameFromApiUrl("http://localhost:1234")).toBeUndefined();
  });
});
