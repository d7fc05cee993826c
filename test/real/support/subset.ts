/**
 * Where a stored object disagrees with what was planned: every planned field must be in the stored object with the
 * same value (the server adds defaults, status and metadata of its own; those are not disagreements).
 */
export function disagreements(planned: unknown, stored: unknown, path = ""): string[] {
  if (planned === null || planned === undefined) return [];
  if (Array.isArray(planned)) {
    if (!Array.isArray(stored)) return [`${path}: planned a list, stored ${JSON.stringify(stored)}`];
    if (planned.length !== stored.length) {
      return [`${path}: planned ${planned.length} items, stored ${stored.length}`];
    }
    return planned.flatMap((p, i) => disagreements(p, stored[i], `${path}[${i}]`));
  }
  if (typeof planned === "object") {
    if (typeof stored !== "object" || stored === null)
      return [`${path}: planned an object, stored ${JSON.stringify(stored)}`];
    return Object.entries(planned as Record<string, unknown>).flatMap(([k, v]) =>
      disagreements(v, (stored as Record<string, unknown>)[k], path ? `${path}.${k}` : k),
    );
  }
  return planned === stored ? [] : [`${path}: planned ${JSON.stringify(planned)}, stored ${JSON.stringify(stored)}`];
}
