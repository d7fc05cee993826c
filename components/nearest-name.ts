/**
 * "Did you mean": the known name closest to a misspelt one, so a typo in a settings key is refused by name with its
 * likely intent (`DKIM_SELECTR` → `DKIM_SELECTOR`, `mailzone` → `mail-zone`).
 */

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) =>
    Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[s.length][t.length];
}

/** Edits a name may be off by and still count as a typo of another: a third of its length, at least 1, at most 3. */
export function typoBudget(name: string): number {
  return Math.max(1, Math.min(3, Math.floor(name.length / 3)));
}

/** The candidate nearest to `name` within its typo budget (ties: the first listed), or `undefined`. */
export function nearestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= typoBudget(name) ? best : undefined;
}

/** `; did you mean X?` when a near name exists, else "". */
export function didYouMean(
  name: string,
  candidates: readonly string[],
  show: (n: string) => string = (n) => n,
): string {
  const near = nearestName(name, candidates);
  return near === undefined ? "" : `; did you mean ${show(near)}?`;
}
