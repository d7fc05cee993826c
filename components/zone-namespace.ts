/**
 * The namespace the shared Mailcow lives in; nothing else of the zone is created before it. Deleting a Namespace
 * deletes every PVC in it, protected or not, so the Namespace is protected too: `protect` makes `pulumi destroy`
 * (or a program that drops it) fail instead, and `retainOnDelete` leaves it in the cluster should it ever be
 * unprotected and removed from the program. docs/install.md ("Removing the zone") says how to remove one on purpose.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { zoneLabels } from "./labels";

export interface ZoneNamespaceArgs {
  name: string;
}

export class ZoneNamespace extends pulumi.ComponentResource {
  /** The namespace name, resolved once the Namespace exists (so children wait for it). */
  readonly name: pulumi.Output<string>;
  readonly namespace: k8s.core.v1.Namespace;

  constructor(name: string, args: ZoneNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mail-zone:zone:ZoneNamespace", name, {}, opts);
    this.namespace = new k8s.core.v1.Namespace(
      name,
      { metadata: { name: args.name, labels: zoneLabels("zone") } },
      { parent: this, protect: true, retainOnDelete: true },
    );
    this.name = this.namespace.metadata.name;
    this.registerOutputs({ name: this.name });
  }
}
