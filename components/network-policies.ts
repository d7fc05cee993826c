/** The zone namespace's NetworkPolicies (see `network-policy-specs.ts` for what they allow and why). */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { zoneLabels } from "./labels";
import { type NetworkPolicyInputs, networkPolicies } from "./network-policy-specs";

export interface NetworkPoliciesArgs extends NetworkPolicyInputs {
  namespace: pulumi.Input<string>;
}

export class NetworkPolicies extends pulumi.ComponentResource {
  readonly policyNames: string[];

  constructor(name: string, args: NetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mail-zone:network:NetworkPolicies", name, {}, opts);
    const labels = zoneLabels("network-policy");
    this.policyNames = [];
    for (const policy of networkPolicies(args)) {
      new k8s.networking.v1.NetworkPolicy(
        `${name}-${policy.name}`,
        { metadata: { name: policy.name, namespace: args.namespace, labels }, spec: policy.spec },
        { parent: this },
      );
      this.policyNames.push(policy.name);
    }
    this.registerOutputs({ policyNames: this.policyNames });
  }
}
