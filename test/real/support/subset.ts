/**
 * Where a stored object disagrees with what was planned: every planned field must be in the stored object with the
 * same value (the server adds defaults, status and metadata of its own; those are not disagreements).
 */
export function disagreements(planned: unknown, stored: unknown, path = ""): string[] {
  if (planned === null || planned === undefined) return [];
  // The API server stores Go structs whose zero values are omitted (`omitempty`): a planned "", false, 0 or empty
  // list is what an absent field means, not a disagreement.
  if (stored === undefined && isZero(planned)) return [];
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

function isZero(v: unknown): boolean {
  if (v === "" || v === false || v === 0) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (v && typeof v === "object") return Object.values(v).every(isZero);
  return false;
}
