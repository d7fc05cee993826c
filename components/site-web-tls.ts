/**
 * One site's web certificate: a cert-manager Certificate for `autoconfig.`, `autodiscover.` and `mta-sts.<domain>`
 * and a Traefik IngressRoute presenting it, both in the zone namespace. Without it those hosts (CNAMEs to the mail
 * host) get the mail host's certificate, so MTA-STS policy fetches and HTTPS autodiscover fail. Created by the site
 * program only when `webTls` is set and the site is enabled, so disabling a site removes both, like its DNS records.
 *
 * No explicit provider: in the controller's pod the default Kubernetes provider uses the in-cluster service account
 * (a Role in the zone namespace allows exactly these two kinds, components/controller-deployment.ts).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { zoneLabels } from "./labels";
import {
  siteCertificateSpec,
  siteWebRouteSpec,
  siteWebTlsName,
  siteWebTlsSecretName,
  type WebTlsSettings,
} from "./site-web-tls-specs";

export const SITE_WEB_TLS_TYPE = "mail-zone:site:SiteWebTls";

export interface SiteWebTlsArgs {
  slug: string;
  /** The site's domain, normalised (punycode, lowercase). */
  domain: string;
  webTls: WebTlsSettings;
}

export class SiteWebTls extends pulumi.ComponentResource {
  /** The Secret cert-manager writes and the route presents. */
  readonly secretName: string;
  readonly certificate: k8s.apiextensions.CustomResource;
  readonly route: k8s.apiextensions.CustomResource;

  constructor(name: string, args: SiteWebTlsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(SITE_WEB_TLS_TYPE, name, {}, opts);
    const { slug, domain, webTls } = args;
    const objectName = siteWebTlsName(slug);
    const metadata = {
      name: objectName,
      namespace: webTls.namespace,
      labels: { ...zoneLabels("site-web"), "app.kubernetes.io/instance": slug },
    };
    this.secretName = siteWebTlsSecretName(slug);
    this.certificate = new k8s.apiextensions.CustomResource(
      `${name}-certificate`,
      {
        apiVersion: "cert-manager.io/v1",
        kind: "Certificate",
        metadata,
        spec: siteCertificateSpec(slug, domain, webTls),
      },
      { parent: this },
    );
    this.route = new k8s.apiextensions.CustomResource(
      `${name}-route`,
      {
        apiVersion: "traefik.io/v1alpha1",
        kind: "IngressRoute",
        metadata,
        spec: siteWebRouteSpec(slug, domain, webTls),
      },
      { parent: this },
    );
    this.registerOutputs({ secretName: this.secretName });
  }
}
