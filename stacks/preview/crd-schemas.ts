/**
 * Schemas for the custom resources the published model packages lack: k3s' `HelmChartConfig` (helm.cattle.io/v1, from
 * k3s-io/helm-controller `HelmChartConfigSpec`) and Traefik's `ServersTransportTCP` (traefik.io/v1alpha1, added in
 * Traefik 3.x after @kubernetes-models/traefik was generated). Strict: an unknown field is an error, as it is for
 * the API server with `kubectl apply --validate=strict`.
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const objectMeta = z
  .object({
    name: z.string().max(253).regex(DNS_SUBDOMAIN, "must be a DNS-1123 subdomain"),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .strict();

const helmChartConfigSpec = z
  .object({
    valuesContent: z
      .string()
      .optional()
      .superRefine((text, ctx) => {
        if (text === undefined) return;
        try {
          const values = parseYaml(text);
          if (values !== null && (typeof values !== "object" || Array.isArray(values))) {
            ctx.addIssue({ code: "custom", message: "must be YAML holding a mapping of chart values" });
          }
        } catch (err) {
          ctx.addIssue({ code: "custom", message: `is not valid YAML: ${(err as Error).message.split("\n")[0]}` });
        }
      }),
    valuesSecrets: z
      .array(
        z
          .object({
            name: z.string().min(1),
            keys: z.array(z.string()).optional(),
            ignoreUpdates: z.boolean().optional(),
          })
          .strict(),
      )
      .optional(),
    failurePolicy: z.enum(["reinstall", "abort"]).optional(),
  })
  .strict();

export const helmChartConfigSchema = z
  .object({
    apiVersion: z.literal("helm.cattle.io/v1"),
    kind: z.literal("HelmChartConfig"),
    metadata: objectMeta,
    spec: helmChartConfigSpec,
  })
  .strict();

const intOrString = z.union([z.number().int(), z.string()]);

const serversTransportTcpSpec = z
  .object({
    dialKeepAlive: intOrString.optional(),
    dialTimeout: intOrString.optional(),
    terminationDelay: intOrString.optional(),
    proxyProtocol: z
      .object({ version: z.union([z.literal(1), z.literal(2)], { error: "must be 1 or 2" }) })
      .strict()
      .optional(),
    tls: z
      .object({
        serverName: z.string().optional(),
        insecureSkipVerify: z.boolean().optional(),
        rootCAsSecrets: z.array(z.string()).optional(),
        rootCAs: z
          .array(z.object({ secret: z.string().optional(), configMap: z.string().optional() }).strict())
          .optional(),
        certificatesSecrets: z.array(z.string()).optional(),
        peerCertURI: z.string().optional(),
        spiffe: z
          .object({ ids: z.array(z.string()).optional(), trustDomain: z.string().optional() })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const serversTransportTcpSchema = z
  .object({
    apiVersion: z.literal("traefik.io/v1alpha1"),
    kind: z.literal("ServersTransportTCP"),
    metadata: objectMeta,
    spec: serversTransportTcpSpec,
  })
  .strict();

/** In-repo schemas by `<apiVersion>/<kind>`. */
export const CRD_SCHEMAS: Record<string, z.ZodType> = {
  "helm.cattle.io/v1/HelmChartConfig": helmChartConfigSchema,
  "traefik.io/v1alpha1/ServersTransportTCP": serversTransportTcpSchema,
};
