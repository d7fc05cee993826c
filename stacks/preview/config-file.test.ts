import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  parseStackConfig,
  readStackConfigFile,
  SECURE_PLACEHOLDER,
  StackFileError,
  stackNameFromFile,
} from "./config-file";

describe("parseStackConfig", () => {
  it("keeps scalars as Pulumi's strings and turns structured values into JSON", () => {
    const { config, secretKeys } = parseStackConfig(
      [
        "config:",
        "  mail-zone:hostname: mail.example.com",
        "  mail-zone:replicas: 2",
        "  mail-zone:enabled: true",
        "  mail-zone:web:",
        "    adminAllowList: [10.0.0.0/8]",
        "  mail-zone:ports: [25, 465]",
        "  kubernetes:context: k3s",
      ].join("\n"),
      "Pulumi.test.yaml",
    );
    expect(config).toEqual({
      "mail-zone:hostname": "mail.example.com",
      "mail-zone:replicas": "2",
      "mail-zone:enabled": "true",
      "mail-zone:web": '{"adminAllowList":["10.0.0.0/8"]}',
      "mail-zone:ports": "[25,465]",
      "kubernetes:context": "k3s",
    });
    expect(secretKeys).toEqual([]);
  });

  it("replaces secure values with a placeholder and marks their keys secret, also when nested", () => {
    const { config, secretKeys } = parseStackConfig(
      [
        "config:",
        "  cloudflare:apiToken:",
        "    secure: AAABAGNpcGhlcnRleHQ=",
        "  mail-zone:smtpRelay:",
        "    host: relay.example.net",
        "    password:",
        "      secure: AAABAG90aGVy",
      ].join("\n"),
      "Pulumi.test.yaml",
    );
    expect(config["cloudflare:apiToken"]).toBe(SECURE_PLACEHOLDER);
    expect(JSON.parse(config["mail-zone:smtpRelay"])).toEqual({
      host: "relay.example.net",
      password: SECURE_PLACEHOLDER,
    });
    expect(secretKeys.sort()).toEqual(["cloudflare:apiToken", "mail-zone:smtpRelay"]);
    expect(JSON.stringify(config)).not.toContain("AAABA");
  });

  it("accepts a file without a config section", () => {
    expect(parseStackConfig("encryptionsalt: v1:abc\n", "Pulumi.x.yaml")).toEqual({ config: {}, secretKeys: [] });
  });

  it("names the file and the position of broken YAML", () => {
    expect(() => parseStackConfig("config:\n  mail-zone:a: [1, 2\n", "Pulumi.bad.yaml")).toThrow(
      /^Pulumi\.bad\.yaml: invalid YAML at line \d+, column \d+/,
    );
  });

  it("names the file and the key that is not namespaced", () => {
    const attempt = () => parseStackConfig("config:\n  hostname: mail.example.com\n", "Pulumi.bad.yaml");
    expect(attempt).toThrow(StackFileError);
    expect(attempt).toThrow('Pulumi.bad.yaml: config key "hostname" must be namespaced as <namespace>:<key>');
  });

  it("names the file and the key whose value is empty", () => {
    expect(() => parseStackConfig("config:\n  mail-zone:hostname:\n", "Pulumi.bad.yaml")).toThrow(
      'Pulumi.bad.yaml: config key "mail-zone:hostname" has no value',
    );
  });
});

describe("readStackConfigFile", () => {
  it("reads a stack file from disk and names a missing one", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "stackfile-"));
    try {
      const file = path.join(dir, "Pulumi.dev.yaml");
      writeFileSync(file, "config:\n  mail-zone:hostname: mail.example.com\n");
      expect(readStackConfigFile(file).config).toEqual({ "mail-zone:hostname": "mail.example.com" });
      expect(() => readStackConfigFile(path.join(dir, "nope.yaml"))).toThrow(
        /nope\.yaml: cannot read the stack file \(ENOENT\)/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("stackNameFromFile", () => {
  it("takes the stack name from Pulumi.<stack>.yaml and falls back otherwise", () => {
    expect(stackNameFromFile("/x/Pulumi.example.yaml")).toBe("example");
    expect(stackNameFromFile("Pulumi.prod.yml")).toBe("prod");
    expect(stackNameFromFile("zone.yaml")).toBe("preview");
  });
});
