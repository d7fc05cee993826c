/**
 * Mailcow's web entry through Traefik: a cert-manager Certificate for the mail host, the allow-list Middleware
 * guarding the UI and API, and one IngressRoute for the mail host and the client-configuration hosts.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSettings } from "./cluster-settings";
import { zoneLabels } from "./labels";
import { MAILCOW_TLS_SECRET } from "./mailcow-endpoints";
import { ADMIN_ALLOWLIST_MIDDLEWARE, adminSourceRange, certificateDnsNames, webRouteSpec } from "./web-route-specs";
import type { WebSettings } from "./web-settings";

export interface WebIngressArgs {
  namespace: pulumi.Input<string>;
  hostname: string;
  web: WebSettings;
  cluster: ClusterSettings;
}

export class WebIngress extends pulumi.ComponentResource {
  /** The Secret cert-manager writes (tls.crt, tls.key); Postfix and Dovecot mount it too. */
  readonly tlsSecretName: string = MAILCOW_TLS_SECRET;
  readonly certificate: k8s.apiextensions.CustomResource;

  constructor(name: string, args: WebIngressArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mail-zone:web:WebIngress", name, {}, opts);
    const labels = zoneLabels("web");
    this.certificate = new k8s.apiextensions.CustomResource(
      `${name}-certificate`,
      {
        apiVersion: "cert-manager.io/v1",
        kind: "Certificate",
        metadata: { name: MAILCOW_TLS_SECRET, namespace: args.namespace, labels },
        spec: {
          secretName: MAILCOW_TLS_SECRET,
          dnsNames: certificateDnsNames(args.hostname),
          issuerRef: { name: args.web.clusterIssuer, kind: "ClusterIssuer", group: "cert-manager.io" },
          // RSA for the widest mail-client support; a fresh key on every renewal.
          privateKey: { algorithm: "RSA", size: 2048, rotationPolicy: "Always" },
        },
      },
      { parent: this },
    );
    // Traefik refuses an empty sourceRange; with no allowed address there is no Middleware and no admin route.
    const sourceRange = adminSourceRange(args.web, args.cluster);
    const middleware =
      sourceRange.length > 0
        ? new k8s.apiextensions.CustomResource(
            `${name}-admin-allowlist`,
            {
              apiVersion: "traefik.io/v1alpha1",
              kind: "Middleware",
              metadata: { name: ADMIN_ALLOWLIST_MIDDLEWARE, namespace: args.namespace, labels },
              spec: { ipAllowList: { sourceRange } },
            },
            { parent: this },
          )
        : undefined;
    new k8s.apiextensions.CustomResource(
      `${name}-route`,
      {
        apiVersion: "traefik.io/v1alpha1",
        kind: "IngressRoute",
        metadata: { name: "mailcow-web", namespace: args.namespace, labels },
        spec: webRouteSpec(args.hostname, args.web.entrypoint, sourceRange.length > 0),
      },
      { parent: this, dependsOn: middleware ? [middleware] : [] },
    );
    this.registerOutputs({ tlsSecretName: this.tlsSecretName });
  }
}
