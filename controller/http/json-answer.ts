/**
 * JSON answers' bytes, made once per object for bodies that cannot change: a body frozen all the way down (as the
 * reconciler's kept status views are) is serialised the first time it is answered and its bytes are sent again after
 * that. Keyed weakly, so the bytes live exactly as long as whoever keeps the body. Anything else is serialised per
 * answer as `res.json` does.
 */
const kept = new WeakMap<object, Buffer>();

/** The bytes of a deeply frozen body (made on first use), or undefined for a body that could still change. */
export function frozenJsonBytes(body: unknown): Buffer | undefined {
  if (typeof body !== "object" || body === null || !Object.isFrozen(body)) return undefined;
  const bytes = kept.get(body);
  if (bytes) return bytes;
  if (!deeplyFrozen(body)) return undefined;
  const text = JSON.stringify(body);
  // Not from Buffer's shared pool: a kept slice would keep its whole 8 KB slab alive.
  const own = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  own.write(text, "utf8");
  kept.set(body, own);
  return own;
}

function deeplyFrozen(value: object): boolean {
  if (!Object.isFrozen(value)) return false;
  for (const member of Object.values(value)) {
    if (typeof member === "object" && member !== null && !deeplyFrozen(member)) return false;
  }
  return true;
}
