/**
 * The cluster's own networks (config key `mail-zone:cluster`): where pods and Services get their addresses. Tenants'
 * pods live in the pod network, so these ranges are never trusted for the admin plane; Mailcow's trust settings
 * derive from them, so a typo such as `0.0.0.0/0` would open the API and let a forged PROXY header relay mail: each
 * range must be private and narrower than everything (the rule in network-ranges.ts).
 */
import { z } from "zod";
import { isNetworkCidr, TRUST_PROBLEM_TEXT, trustProblem } from "./network-ranges";

export const CIDR_TEXT = "a CIDR with host bits zero, like 10.42.0.0/16 or 2001:db8::/64";

/** A CIDR (host bits zero: catches `10.42.0.1/16`). */
export const cidr = z
  .string({ error: `expected ${CIDR_TEXT}` })
  .refine(isNetworkCidr, { error: `expected ${CIDR_TEXT}` });

/** A CIDR the zone may trust as cluster-internal: private, never `/0`. */
const clusterCidr = cidr.superRefine((value, ctx) => {
  if (!isNetworkCidr(value)) return;
  const problem = trustProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: `expected ${TRUST_PROBLEM_TEXT[problem]}` });
});

export const DEFAULT_POD_CIDR = "10.42.0.0/16";
export const DEFAULT_SERVICE_CIDR = "10.43.0.0/16";

export const clusterSettingsSchema = z
  .strictObject({
    podCidr: clusterCidr.default(DEFAULT_POD_CIDR),
    serviceCidr: clusterCidr.default(DEFAULT_SERVICE_CIDR),
  })
  .prefault({});

export type ClusterSettings = z.infer<typeof clusterSettingsSchema>;
