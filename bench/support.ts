/**
 * What every benchmark returns and how `bench/run.ts` prints it: each check is a measured value against its
 * target, judged PASS or MISS. Timing lives only here, never in tests (the machine is shared and noisy).
 */

export interface Check {
  /** What the value is, e.g. "runs per call (subject ÷ naive)". */
  label: string;
  value: number;
  /** `<=` or `<`. */
  op: "<=" | "<";
  target: number;
  unit?: string;
  /** Digits after the point when printed. */
  digits?: number;
}

export interface BenchReport {
  name: string;
  /** One line saying what was measured against what. */
  summary: string;
  checks: Check[];
  /** The raw numbers behind the checks (subject and baseline), printed as `key=value`. */
  details: Record<string, number | string | boolean>;
}

export function passes(check: Check): boolean {
  return check.op === "<=" ? check.value <= check.target : check.value < check.target;
}

function fmt(value: number, digits = 3): string {
  return Number.isInteger(value) && digits === 0 ? String(value) : value.toFixed(digits);
}

export function formatCheck(check: Check): string {
  const unit = check.unit ? ` ${check.unit}` : "";
  const op = check.op === "<=" ? "≤" : "<";
  const digits = check.digits ?? 3;
  return `${check.label}: ${fmt(check.value, digits)}${unit} (target ${op} ${fmt(check.target, digits)}${unit}) ${passes(check) ? "PASS" : "MISS"}`;
}

export function formatReport(report: BenchReport): string {
  const lines = [`[${report.name}] ${report.summary}`];
  for (const check of report.checks) lines.push(`  ${formatCheck(check)}`);
  const details = Object.entries(report.details).map(([k, v]) => `${k}=${typeof v === "number" ? round(v) : v}`);
  if (details.length > 0) lines.push(`  ${details.join(" ")}`);
  return lines.join("\n");
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}

/** The p-th percentile (0–100) by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Seconds since `start` (from `performance.now()`). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
