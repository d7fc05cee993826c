/**
 * Resource progress of a stack run from the engine's events: every resource the engine announces
 * (`resourcePreEvent`) counts toward the total, every finished or failed step toward done. The total grows while
 * the engine discovers the program; the summary event fixes it at the end.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { RunProgress } from "./stack-runner";

/** The stack itself is a resource too; counting it would make an empty stack look like one step of work. */
const STACK_TYPE = "pulumi:pulumi:Stack";

export class ProgressTracker {
  private readonly announced = new Set<string>();
  private readonly finished = new Set<string>();

  constructor(private readonly onProgress?: (progress: RunProgress) => void) {}

  handle(event: EngineEvent): void {
    const pre = event.resourcePreEvent?.metadata;
    const outputs = event.resOutputsEvent?.metadata;
    const failed = event.resOpFailedEvent?.metadata;
    if (pre && pre.type !== STACK_TYPE) {
      this.announced.add(pre.urn);
      this.emit();
    } else if (outputs && outputs.type !== STACK_TYPE) {
      this.announced.add(outputs.urn);
      this.finished.add(outputs.urn);
      this.emit();
    } else if (failed && failed.type !== STACK_TYPE) {
      this.announced.add(failed.urn);
      this.finished.add(failed.urn);
      this.emit();
    } else if (event.summaryEvent) {
      // Every announced step is over when the summary arrives.
      for (const urn of this.announced) this.finished.add(urn);
      this.emit();
    }
  }

  current(): RunProgress {
    return { done: this.finished.size, total: this.announced.size };
  }

  private emit(): void {
    this.onProgress?.(this.current());
  }
}
