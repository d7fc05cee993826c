import { describe, expect, it } from "vitest";
import {
  ALL_CRDS,
  dnsError,
  type FakeCluster,
  fakeDns,
  fakeKubectl,
  healthyCluster,
  healthyRoutes,
  SETTINGS,
} from "../../test/doubles/operator-probes";
import {
  checkCertManager,
  checkKubectl,
  checkMailcowReady,
  checkMailHostAddress,
  checkOutboundSmtp,
  checkProxyRoutes,
  checkPulumi,
  checkReverseDns,
  checkTraefik,
  doctorChecks,
  formatResults,
  type Probes,
  preflightChecks,
  TRAEFIK_CRDS,
} from "./checks";

const open = async () => {};
const blocked = async () => {
  throw Object.assign(new Error("connect ETIMEDOUT"), { code: "ETIMEDOUT" });
};

function probes(cluster: FakeCluster = healthyCluster(), dns = fakeDns(), tcp = open): Probes {
  return { kubectl: fakeKubectl(cluster), dns, tcp };
}

describe("kubectl check", () => {
  it("passes with a reachable current context", async () => {
    expect(await checkKubectl(fakeKubectl(healthyCluster()))).toMatchObject({
      status: "pass",
      detail: expect.stringContaining("default"),
    });
  });

  it("fails with an install hint when kubectl is missing", async () => {
    const r = await checkKubectl(fakeKubectl({ kubectlMissing: true }));
    expect(r.status).toBe("fail");
    expect(r.fix).toContain("install kubectl");
  });

  it("fails naming KUBECONFIG when no context is set", async () => {
    const r = await checkKubectl(fakeKubectl({ ...healthyCluster(), context: undefined }));
    expect(r).toMatchObject({ status: "fail", fix: expect.stringContaining("KUBECONFIG") });
  });

  it("fails when the API server does not answer", async () => {
    const r = await checkKubectl(fakeKubectl({ ...healthyCluster(), reachable: false }));
    expect(r.status).toBe("fail");
    expect(r.detail).toContain("refused");
  });
});

describe("Traefik and cert-manager checks", () => {
  it("pass on a k3s cluster with Traefik v3 and a ready ClusterIssuer", async () => {
    expect((await checkTraefik(fakeKubectl(healthyCluster()), SETTINGS)).status).toBe("pass");
    expect((await checkCertManager(fakeKubectl(healthyCluster()), SETTINGS)).status).toBe("pass");
  });

  it("name each missing Traefik CRD", async () => {
    const cluster = { ...healthyCluster(), crds: ALL_CRDS.filter((c) => c !== "serverstransporttcps.traefik.io") };
    const r = await checkTraefik(fakeKubectl(cluster), SETTINGS);
    expect(r.status).toBe("fail");
    expect(r.detail).toContain("serverstransporttcps.traefik.io");
  });

  it("say to keep k3s's Traefik when it is disabled", async () => {
    const r = await checkTraefik(fakeKubectl({ ...healthyCluster(), traefik: false }), SETTINGS);
    expect(r).toMatchObject({ status: "fail", fix: expect.stringContaining("--disable traefik") });
  });

  it("say how to install cert-manager when its CRDs are absent", async () => {
    const r = await checkCertManager(fakeKubectl({ ...healthyCluster(), crds: [...TRAEFIK_CRDS] }), SETTINGS);
    expect(r).toMatchObject({ status: "fail", fix: expect.stringContaining("cert-manager") });
  });

  it("fail when the configured ClusterIssuer is missing or not ready", async () => {
    const missing = await checkCertManager(fakeKubectl({ ...healthyCluster(), issuers: {} }), SETTINGS);
    expect(missing.detail).toContain("letsencrypt-prod not found");
    const notReady = await checkCertManager(
      fakeKubectl({ ...healthyCluster(), issuers: { "letsencrypt-prod": false } }),
      SETTINGS,
    );
    expect(notReady).toMatchObject({ status: "fail", detail: expect.stringContaining("not Ready") });
  });
});

describe("DNS and port 25 checks", () => {
  it("pass when the PTR and the A record match the mail host and IP", async () => {
    expect((await checkReverseDns(fakeDns(), SETTINGS)).status).toBe("pass");
    expect((await checkMailHostAddress(fakeDns(), SETTINGS)).status).toBe("pass");
  });

  it("fail rDNS when the PTR names the provider's default host, saying who sets it", async () => {
    const r = await checkReverseDns(fakeDns({ ptr: ["static.10.113.0.203.clients.provider.test"] }), SETTINGS);
    expect(r.status).toBe("fail");
    expect(r.detail).toContain("static.10.113.0.203.clients.provider.test");
    expect(r.fix).toContain("PTR");
  });

  it("fail rDNS when there is no PTR at all", async () => {
    const r = await checkReverseDns(fakeDns({ ptr: Object.assign(new Error("x"), { code: "ENOTFOUND" }) }), SETTINGS);
    expect(r).toMatchObject({ status: "fail", detail: expect.stringContaining("no PTR") });
  });

  it("checks the IPv6 PTR and AAAA too when an IPv6 address is configured", async () => {
    const v6 = { ...SETTINGS, publicIPv6: "2001:db8::10" };
    const r = await checkMailHostAddress(fakeDns({ aaaa: [] }), v6);
    expect(r).toMatchObject({ status: "fail", detail: expect.stringContaining("AAAA") });
  });

  it("fail the A check when the mail host points elsewhere", async () => {
    const r = await checkMailHostAddress(fakeDns({ a: ["198.51.100.1"] }), SETTINGS);
    expect(r).toMatchObject({ status: "fail", detail: expect.stringContaining("198.51.100.1") });
  });

  it("fail port 25 when blocked, suggesting a relay", async () => {
    const r = await checkOutboundSmtp(blocked, SETTINGS);
    expect(r.status).toBe("fail");
    expect(r.fix).toContain("--relay");
  });

  it("pass port 25 through a reachable relay without probing port 25", async () => {
    const probed: string[] = [];
    const tcp = async (host: string, port: number) => {
      probed.push(`${host}:${port}`);
    };
    const r = await checkOutboundSmtp(tcp, { ...SETTINGS, relay: { host: "smtp.relay.test", port: 587 } });
    expect(r.status).toBe("pass");
    expect(probed).toEqual(["smtp.relay.test:587"]);
  });
});

describe("could not check versus checked and wrong", () => {
  // Codes as Node's resolver (c-ares: ECONNREFUSED, ETIMEOUT, ESERVFAIL, EREFUSED) and getaddrinfo (EAI_AGAIN) raise
  // them when no answer came back.
  const unanswered = ["ECONNREFUSED", "ETIMEOUT", "ESERVFAIL", "EREFUSED", "EAI_AGAIN"];

  it.each(unanswered)(
    "the A check with the resolver answering %s says it could not check, not to publish",
    async (code) => {
      const r = await checkMailHostAddress(fakeDns({ a: dnsError(code) }), SETTINGS);
      expect(r.status).toBe("unchecked");
      expect(r.detail).toContain(code);
      expect(r.detail).not.toContain("no A record");
      expect(r.fix).not.toMatch(/publish/i);
      expect(r.fix).toContain("resolver");
    },
  );

  it.each(["ENOTFOUND", "ENODATA"])(
    "the A check with an answer of %s (NXDOMAIN/NODATA) fails and says to publish",
    async (code) => {
      const r = await checkMailHostAddress(fakeDns({ a: dnsError(code) }), SETTINGS);
      expect(r).toMatchObject({ status: "fail", detail: expect.stringContaining("no A record") });
      expect(r.fix).toContain("publish mail.example.test A 203.0.113.10");
    },
  );

  it("the A check fails on a wrong AAAA even when the A lookup got no answer, naming both", async () => {
    const v6 = { ...SETTINGS, publicIPv6: "2001:db8::10" };
    const r = await checkMailHostAddress(fakeDns({ a: dnsError("ETIMEOUT"), aaaa: ["2001:db8::99"] }), v6);
    expect(r.status).toBe("fail");
    expect(r.detail).toContain("AAAA is 2001:db8::99");
    expect(r.detail).toContain("could not look up the A record (ETIMEOUT)");
  });

  it.each(unanswered)(
    "the PTR check with the resolver answering %s says it could not check, not to set the PTR",
    async (code) => {
      const r = await checkReverseDns(fakeDns({ ptr: dnsError(code, "getHostByAddr") }), SETTINGS);
      expect(r.status).toBe("unchecked");
      expect(r.detail).not.toContain("no PTR record");
      expect(r.fix).not.toContain("ask the owner of the IP");
    },
  );

  it("the PTR check fails when the resolver answers NXDOMAIN", async () => {
    const r = await checkReverseDns(fakeDns({ ptr: dnsError("ENOTFOUND", "getHostByAddr") }), SETTINGS);
    expect(r).toMatchObject({ status: "fail", detail: expect.stringContaining("203.0.113.10 has no PTR record") });
  });

  it("the port 25 check does not call port 25 blocked when the probe MX's name could not be resolved", async () => {
    const noResolver = async () => {
      throw Object.assign(new Error("getaddrinfo EAI_AGAIN mx.probe.test"), {
        code: "EAI_AGAIN",
        syscall: "getaddrinfo",
      });
    };
    const r = await checkOutboundSmtp(noResolver, SETTINGS);
    expect(r.status).toBe("unchecked");
    expect(r.detail).toContain("could not resolve the probe MX mx.probe.test");
    expect(r.detail).not.toContain("block");
    expect(r.fix).not.toContain("unblock");
  });

  it("the port 25 check still fails when the connection itself is refused or times out", async () => {
    const refused = async () => {
      throw Object.assign(new Error("connect ECONNREFUSED 192.0.2.1:25"), { code: "ECONNREFUSED", syscall: "connect" });
    };
    expect((await checkOutboundSmtp(refused, SETTINGS)).status).toBe("fail");
    expect((await checkOutboundSmtp(blocked, SETTINGS)).status).toBe("fail");
  });

  it("a relay whose name gets no answer is unchecked; one whose name does not exist fails", async () => {
    const relayed = { ...SETTINGS, relay: { host: "smtp.relay.test", port: 587 } };
    const lookup = (code: string) => async () => {
      throw Object.assign(new Error(`getaddrinfo ${code} smtp.relay.test`), { code, syscall: "getaddrinfo" });
    };
    expect((await checkOutboundSmtp(lookup("EAI_AGAIN"), relayed)).status).toBe("unchecked");
    expect((await checkOutboundSmtp(lookup("ENOTFOUND"), relayed)).status).toBe("fail");
  });

  it("the summary counts checks that could not run apart from failures, and never says all passed", async () => {
    const down = fakeDns({ a: dnsError("ECONNREFUSED"), ptr: dnsError("ECONNREFUSED") });
    const text = formatResults(await preflightChecks(probes(healthyCluster(), down), SETTINGS));
    expect(text).toContain("[????] A/AAAA record of the mail host");
    expect(text).toContain("2 check(s) could not be run");
    expect(text).not.toContain("failed");
    expect(text).not.toContain("All checks passed");
  });
});

describe("zone checks", () => {
  it("fail when the Mailcow pod is not ready, naming it", async () => {
    const r = await checkMailcowReady(
      fakeKubectl({ ...healthyCluster(), pods: [{ name: "mailcow-0", ready: false }] }),
      SETTINGS,
    );
    expect(r).toMatchObject({ status: "fail", detail: expect.stringContaining("mailcow-0") });
  });

  it("fail, saying so, when kubectl fails or answers something that is not JSON", async () => {
    const broken = async () => ({ code: 0, stdout: "<html>proxy error</html>", stderr: "" });
    expect(await checkMailcowReady(broken, SETTINGS)).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/not JSON/),
    });
    const denied = async () => ({ code: 1, stdout: "", stderr: "Error from server (Forbidden): routes\nmore" });
    expect(await checkProxyRoutes(denied, SETTINGS)).toMatchObject({
      status: "fail",
      detail: "cannot list IngressRouteTCPs: Error from server (Forbidden): routes",
    });
  });

  it("fail when a PROXY route is missing, naming the entrypoint", async () => {
    const cluster = healthyCluster();
    cluster.routes = (cluster.routes ?? []).filter(
      (r) => (r as { metadata: { name: string } }).metadata.name !== "mail-imaps",
    );
    const r = await checkProxyRoutes(fakeKubectl(cluster), SETTINGS);
    expect(r).toMatchObject({ status: "fail", detail: expect.stringContaining("imaps: no route") });
  });

  it("fail when a route goes to Postfix's plain port 25 instead of its PROXY listener", async () => {
    const cluster = healthyCluster();
    cluster.routes = healthyRoutes().map((r) =>
      r.metadata.name === "mail-smtp"
        ? {
            ...r,
            spec: { ...r.spec, routes: [{ match: "HostSNI(`*`)", services: [{ name: "mailcow-postfix", port: 25 }] }] },
          }
        : r,
    );
    const r = await checkProxyRoutes(fakeKubectl(cluster), SETTINGS);
    expect(r).toMatchObject({ status: "fail", detail: "smtp: no route to mailcow-postfix:10025" });
  });

  it("fail when a route does not speak PROXY protocol", async () => {
    const cluster = healthyCluster();
    cluster.routes = healthyRoutes().map((r) => ({
      ...r,
      spec: {
        ...r.spec,
        routes: r.spec.routes.map((rt) => ({ ...rt, services: rt.services.map(({ name, port }) => ({ name, port })) })),
      },
    }));
    const r = await checkProxyRoutes(fakeKubectl(cluster), SETTINGS);
    expect(r).toMatchObject({ status: "fail", detail: expect.stringContaining("without PROXY") });
  });
});

describe("preflightChecks and doctorChecks", () => {
  it("all pass on a healthy set-up", async () => {
    const results = await doctorChecks(probes(), SETTINGS);
    expect(results.filter((r) => r.status !== "pass")).toEqual([]);
    expect(results.map((r) => r.id)).toEqual([
      "kubectl",
      "traefik",
      "cert-manager",
      "mail-host-a",
      "rdns",
      "port-25",
      "zone-namespace",
      "mailcow-ready",
      "proxy-routes",
    ]);
  });

  it("skip the cluster checks when kubectl cannot reach the cluster, but still check DNS and port 25", async () => {
    const results = await preflightChecks(probes({ ...healthyCluster(), reachable: false }), SETTINGS);
    expect(results.find((r) => r.id === "traefik")?.status).toBe("skip");
    expect(results.find((r) => r.id === "rdns")?.status).toBe("pass");
  });

  it("print every failure with what to do", async () => {
    const results = await preflightChecks(
      probes(healthyCluster(), fakeDns({ ptr: ["x.provider.test"] }), blocked),
      SETTINGS,
    );
    const text = formatResults(results);
    expect(text).toContain("[FAIL] Reverse DNS");
    expect(text).toContain("→ ask the owner of the IP");
    expect(text).toContain("2 check(s) failed.");
  });

  it("says how to install Pulumi when it is missing", async () => {
    const r = await checkPulumi(async () => ({ code: 127, stdout: "", stderr: "", missing: true }));
    expect(r).toMatchObject({ status: "fail", fix: expect.stringContaining("get.pulumi.com") });
  });
});
