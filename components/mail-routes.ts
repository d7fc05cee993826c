/**
 * The TCP routes from Traefik's mail entrypoints to Mailcow's PROXY listeners: one IngressRouteTCP per entrypoint
 * and, in `serversTransport` mode, the one ServersTransportTCP that turns PROXY v2 on.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { zoneLabels } from "./labels";
import { mailRoutes, PROXY_TRANSPORT_NAME, type ProxyProtocolMode } from "./mail-route-specs";
import type { MailEntrypoint } from "./mailcow-endpoints";

export interface MailRoutesArgs {
  namespace: pulumi.Input<string>;
  entrypoints: readonly MailEntrypoint[];
  proxyProtocolMode: ProxyProtocolMode;
}

export class MailRoutes extends pulumi.ComponentResource {
  /** IngressRouteTCP names by entrypoint. */
  readonly routeNames: Record<string, string>;

  constructor(name: string, args: MailRoutesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mail-zone:traefik:MailRoutes", name, {}, opts);
    const labels = zoneLabels("mail-routes");
    let transport: k8s.apiextensions.CustomResource | undefined;
    if (args.proxyProtocolMode === "serversTransport") {
      transport = new k8s.apiextensions.CustomResource(
        `${name}-proxy-transport`,
        {
          apiVersion: "traefik.io/v1alpha1",
          kind: "ServersTransportTCP",
          metadata: { name: PROXY_TRANSPORT_NAME, namespace: args.namespace, labels },
          spec: { proxyProtocol: { version: 2 } },
        },
        { parent: this },
      );
    }
    this.routeNames = {};
    for (const route of mailRoutes(args.entrypoints, args.proxyProtocolMode)) {
      new k8s.apiextensions.CustomResource(
        `${name}-${route.entrypoint}`,
        {
          apiVersion: "traefik.io/v1alpha1",
          kind: "IngressRouteTCP",
          metadata: { name: route.name, namespace: args.namespace, labels },
          spec: route.spec,
        },
        { parent: this, dependsOn: transport ? [transport] : [] },
      );
      this.routeNames[route.entrypoint] = route.name;
    }
    this.registerOutputs({ routeNames: this.routeNames });
  }
}
