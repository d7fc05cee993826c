/**
 * Pending operations a killed `pulumi up` leaves in a stack's checkpoint (docs/decisions/0100). Pulumi carries
 * pending CREATE operations from one update to the next until someone clears them; the controller clears them after
 * its own crash, since the site stacks' Kubernetes objects are created by server-side apply (an upsert): the next
 * `up` adopts an object that did reach the API server and creates one that did not.
 */
import type { Deployment } from "@pulumi/pulumi/automation";

export interface PendingOperation {
  /** `creating`, `updating`, `deleting`, `reading`, ... */
  type: string;
  urn: string;
}

interface Checkpoint {
  pending_operations?: { type?: unknown; resource?: { urn?: unknown } }[];
  [key: string]: unknown;
}

export function pendingOperations(state: Deployment): PendingOperation[] {
  const ops = (state.deployment as Checkpoint | undefined)?.pending_operations ?? [];
  return ops.map((op) => ({ type: String(op.type ?? "unknown"), urn: String(op.resource?.urn ?? "unknown") }));
}

/** The same state without its pending operations (the resources and everything else untouched). */
export function withoutPendingOperations(state: Deployment): Deployment {
  const { pending_operations: _dropped, ...rest } = (state.deployment ?? {}) as Checkpoint;
  return { ...state, deployment: rest };
}
