/**
 * Offline answers for the invokes the zone and site programs make, so a preview needs no Cloudflare credentials.
 * Anything not listed falls back to the planner's default (echo the inputs).
 */
export const CLOUDFLARE_GET_ZONE = "cloudflare:index/getZone:getZone";

export function previewCalls(token: string, inputs: Record<string, unknown>): Record<string, unknown> | undefined {
  if (token === CLOUDFLARE_GET_ZONE) {
    const filter = (inputs.filter ?? {}) as { name?: string };
    const name = filter.name ?? (typeof inputs.name === "string" ? inputs.name : "example.com");
    const id = typeof inputs.zoneId === "string" ? inputs.zoneId : `preview-zone-${name}`;
    return { id, zoneId: id, name, status: "active" };
  }
  return undefined;
}
