/** Labels and names shared by every zone component, so selectors and NetworkPolicies agree. */

export const PART_OF = "mail-zone";
export const MANAGED_BY = "pulumi";

/** Labels every object of the zone carries. */
export function zoneLabels(component: string): Record<string, string> {
  return {
    "app.kubernetes.io/part-of": PART_OF,
    "app.kubernetes.io/managed-by": MANAGED_BY,
    "app.kubernetes.io/component": component,
  };
}

/** Pod labels of the Mailcow workloads; NetworkPolicies and Services select on these. */
export const MAILCOW_POD_LABELS = { "app.kubernetes.io/name": "mailcow", "app.kubernetes.io/part-of": PART_OF };

/** Pod labels of the controller in the platform namespace. */
export const CONTROLLER_POD_LABELS = {
  "app.kubernetes.io/name": "mail-zone-controller",
  "app.kubernetes.io/part-of": PART_OF,
};
