/**
 * Value schemas shared by every settings section of the zone (zone, mailcow, backup, controller), so a quantity, an
 * object name or a time zone is checked the same way wherever it appears.
 */
import { z } from "zod";

/** An IANA time zone the runtime knows (the same database Kubernetes CronJobs and the containers use). */
export function isTimezone(value: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

export const timezone = z.string().refine(isTimezone, "an IANA time zone such as Europe/Berlin");

/** A Kubernetes resource quantity: CPU (`500m`, `2`) or bytes (`256Mi`, `10Gi`, `1G`). */
export const quantity = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|Pi|K|M|G|T|P)?$/, "a Kubernetes quantity such as 500m, 256Mi or 10Gi");

/** A Kubernetes object name (RFC 1123 subdomain). */
export const objectName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, "a Kubernetes object name (lowercase letters, digits, '-', '.')");

/** A key inside a Secret or ConfigMap. */
export const dataKey = z.string().regex(/^[-._a-zA-Z0-9]+$/, "a Secret key (letters, digits, '-', '_', '.')");

/** Requests and limits for one container; omitted values keep the component's documented default. */
export const resourceOverride = z
  .object({
    requests: z.object({ cpu: quantity.optional(), memory: quantity.optional() }).strict().optional(),
    limits: z.object({ cpu: quantity.optional(), memory: quantity.optional() }).strict().optional(),
  })
  .strict();
export type ResourceOverride = z.infer<typeof resourceOverride>;

/** A string checked by `test`; a wrong type and a wrong value both say what is expected, in the zone's words. */
export function described(what: string, test: (value: string) => boolean) {
  return z.string({ error: `expected ${what}` }).refine(test, { error: `expected ${what}` });
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function isDnsLabel(value: string): boolean {
  return DNS_LABEL.test(value);
}

/** A lowercase fully qualified domain name with at least two labels, no trailing dot. */
export function isFqdn(value: string): boolean {
  if (value.length > 253) return false;
  const labels = value.split(".");
  return labels.length >= 2 && labels.every((l) => DNS_LABEL.test(l)) && !/^[0-9]+$/.test(labels.at(-1) ?? "");
}

export const fqdn = described("a lowercase fully qualified domain name like mail.example.com", isFqdn);
export const dnsLabel = described("a Kubernetes name: lowercase letters, digits and '-', at most 63", isDnsLabel);
const isDnsSubdomain = (v: string) => v.length <= 253 && v.split(".").every((l) => DNS_LABEL.test(l));
export const dnsSubdomain = described(
  "a Kubernetes object name: lowercase letters, digits, '-' and '.'",
  isDnsSubdomain,
);

/** A label's name, and a non-empty value: at most 63 of letters, digits, '-', '_', '.', alphanumeric at both ends. */
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** A Kubernetes label key: `name` or `prefix/name`, the prefix a DNS subdomain (Kubernetes' own rule). */
export function isLabelKey(key: string): boolean {
  const parts = key.split("/");
  if (parts.length > 2) return false;
  const name = parts.at(-1) ?? "";
  return LABEL_NAME.test(name) && (parts.length === 1 || isDnsSubdomain(parts[0]));
}

/** Labels to select pods by, checked as Kubernetes checks them, so a bad one is named here, not at `pulumi up`. */
export const labelMap = z
  .record(
    described("a label key: a name of letters, digits, '-', '_', '.' (at most 63), optionally prefix/name", isLabelKey),
    described(
      "a label value: empty, or at most 63 of letters, digits, '-', '_', '.'",
      (v) => v === "" || LABEL_NAME.test(v),
    ),
  )
  .refine((m) => Object.keys(m).length > 0, { error: "expected at least one label" });
