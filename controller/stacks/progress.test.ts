import type { EngineEvent } from "@pulumi/pulumi/automation";
import { describe, expect, it } from "vitest";
import { ProgressTracker } from "./progress";
import type { RunProgress } from "./stack-runner";

const meta = (urn: string, type = "cloudflare:index/dnsRecord:DnsRecord") =>
  ({ op: "create", urn, type, provider: "" }) as never;
const event = (fields: Partial<EngineEvent>): EngineEvent => ({ sequence: 0, timestamp: 0, ...fields });

describe("ProgressTracker", () => {
  it("counts announced resources toward the total and finished ones toward done, ignoring the stack", () => {
    const seen: RunProgress[] = [];
    const tracker = new ProgressTracker((p) => seen.push(p));
    tracker.handle(event({ resourcePreEvent: { metadata: meta("stack", "pulumi:pulumi:Stack") } }));
    tracker.handle(event({ resourcePreEvent: { metadata: meta("a") } }));
    tracker.handle(event({ resourcePreEvent: { metadata: meta("b") } }));
    tracker.handle(event({ resOutputsEvent: { metadata: meta("a") } }));
    expect(tracker.current()).toEqual({ done: 1, total: 2 });
    tracker.handle(event({ resOpFailedEvent: { metadata: meta("b"), status: 1, steps: 1 } }));
    expect(tracker.current()).toEqual({ done: 2, total: 2 });
    expect(seen).toEqual([
      { done: 0, total: 1 },
      { done: 0, total: 2 },
      { done: 1, total: 2 },
      { done: 2, total: 2 },
    ]);
  });

  it("marks everything done at the summary", () => {
    const tracker = new ProgressTracker();
    tracker.handle(event({ resourcePreEvent: { metadata: meta("a") } }));
    tracker.handle(
      event({
        summaryEvent: { maybeCorrupt: false, durationSeconds: 1, resourceChanges: {}, policyPacks: {} } as never,
      }),
    );
    expect(tracker.current()).toEqual({ done: 1, total: 1 });
  });
});
