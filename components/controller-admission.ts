/**
 * The ValidatingAdmissionPolicy and its binding that let the controller's ServiceAccount change nothing on a
 * namespace but its own mail annotations (controller-admission-specs.ts). Cluster-scoped; one per zone.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  ADMISSION_POLICY_NAME,
  controllerAdmissionBindingSpec,
  controllerAdmissionPolicySpec,
} from "./controller-admission-specs";
import { zoneLabels } from "./labels";
import type { SiteLayoutKind } from "./site-annotations";

export interface ControllerAdmissionArgs {
  serviceAccount: { namespace: pulumi.Input<string>; name: pulumi.Input<string> };
  layout: pulumi.Input<SiteLayoutKind>;
  annotationPrefix: pulumi.Input<string>;
}

export class ControllerAdmission extends pulumi.ComponentResource {
  readonly policyName: pulumi.Output<string>;
  /** The binding: the policy is enforced once it exists, so the controller's workload depends on it. */
  readonly binding: k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding;
  /** The bound policy's name, known only once the binding is created (a data dependency on it). */
  readonly boundPolicyName: pulumi.Output<string>;

  constructor(name: string, args: ControllerAdmissionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mail-zone:controller:ControllerAdmission", name, {}, opts);
    const labels = zoneLabels("controller-admission");
    const spec = pulumi
      .all([args.serviceAccount.namespace, args.serviceAccount.name, args.layout, args.annotationPrefix])
      .apply(([namespace, account, layout, annotationPrefix]) =>
        controllerAdmissionPolicySpec({ serviceAccount: { namespace, name: account }, layout, annotationPrefix }),
      );
    const policy = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
      `${name}-policy`,
      { metadata: { name: ADMISSION_POLICY_NAME, labels }, spec },
      { parent: this },
    );
    this.binding = new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
      `${name}-binding`,
      { metadata: { name: ADMISSION_POLICY_NAME, labels }, spec: controllerAdmissionBindingSpec() },
      { parent: this, dependsOn: [policy] },
    );
    this.policyName = policy.metadata.name;
    this.boundPolicyName = this.binding.spec.policyName;
    this.registerOutputs({ policyName: this.policyName, boundPolicyName: this.boundPolicyName });
  }
}
