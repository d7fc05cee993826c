/** The zone stack's program: parse the config once, declare the MailZone, return what others need. */
import type * as pulumi from "@pulumi/pulumi";
import { MailZone } from "../components/mail-zone";
import { loadZoneConfig } from "./zone-config";

/** Stack outputs, read by the controller's install and by operators (`pulumi stack output`). None is secret. */
export interface ZoneOutputs {
  mailHostname: string;
  publicIPv4: string;
  /** Absent when the zone has no IPv6 address. */
  publicIPv6?: string;
  /** Mailcow's API base URL as the controller uses it. */
  apiUrl: pulumi.Output<string>;
  namespace: pulumi.Output<string>;
  controllerSecretName: string;
  controllerSecretNamespace: string;
  /** With `controller.enabled`: the URL the panel calls, and the Secret holding its bearer token. */
  controllerUrl?: pulumi.Output<string>;
  controllerAuthSecretName?: pulumi.Output<string>;
}

export async function zoneProgram(): Promise<ZoneOutputs> {
  const config = loadZoneConfig();
  const zone = new MailZone("mail-zone", { config });
  const outputs: ZoneOutputs = {
    mailHostname: config.hostname,
    publicIPv4: config.publicIPv4,
    apiUrl: zone.apiUrl,
    namespace: zone.namespace,
    controllerSecretName: zone.controllerSecretName,
    controllerSecretNamespace: zone.controllerSecretNamespace,
  };
  if (config.publicIPv6) outputs.publicIPv6 = config.publicIPv6;
  if (zone.controller) {
    outputs.controllerUrl = zone.controller.url;
    outputs.controllerAuthSecretName = zone.controller.authSecretName;
  }
  return outputs;
}
