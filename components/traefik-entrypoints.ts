/**
 * k3s's packaged Traefik, told to open the mail entrypoints: a `HelmChartConfig` named `traefik` in kube-system
 * (the name and namespace k3s's helm-controller looks for; the packaged HelmChart itself must not be edited).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { zoneLabels } from "./labels";
import type { TraefikSettings } from "./traefik-settings";
import { traefikValuesYaml } from "./traefik-values";

/** Where k3s keeps its packaged Traefik HelmChart; a HelmChartConfig must sit beside it with the same name. */
export const K3S_TRAEFIK = { name: "traefik", namespace: "kube-system" } as const;

export interface TraefikEntrypointsArgs {
  traefik: TraefikSettings;
}

export class TraefikEntrypoints extends pulumi.ComponentResource {
  readonly helmChartConfig: k8s.apiextensions.CustomResource;

  constructor(name: string, args: TraefikEntrypointsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mail-zone:traefik:TraefikEntrypoints", name, {}, opts);
    this.helmChartConfig = new k8s.apiextensions.CustomResource(
      `${name}-helmchartconfig`,
      {
        apiVersion: "helm.cattle.io/v1",
        kind: "HelmChartConfig",
        metadata: { name: K3S_TRAEFIK.name, namespace: K3S_TRAEFIK.namespace, labels: zoneLabels("traefik") },
        spec: { valuesContent: traefikValuesYaml(args.traefik) },
      },
      { parent: this },
    );
    this.registerOutputs({ helmChartConfig: this.helmChartConfig.id });
  }
}
