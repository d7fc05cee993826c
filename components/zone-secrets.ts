/**
 * The zone's generated secrets: Mailcow's database, Redis, API and SOGo keys in one Secret in the zone namespace,
 * and the controller's Secret (API URL, API key, mail host) in the platform namespace, so turning the controller on
 * needs no copying of keys. Values exist only in these Secrets and in Pulumi's encrypted state.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { zoneLabels } from "./labels";
import { MAILCOW_SECRET } from "./mailcow-endpoints";

/** Keys of the controller's Secret; the controller reads them as env. */
export const CONTROLLER_SECRET_KEYS = {
  apiUrl: "MAILCOW_API_URL",
  apiKey: "MAILCOW_API_KEY",
  hostname: "MAILCOW_HOSTNAME",
} as const;

/** Lengths follow Mailcow's generate_config.sh (28 alnum) and its SOGo key (16 alnum). */
const PASSWORDS: Record<keyof typeof MAILCOW_SECRET.keys, number> = {
  dbRootPassword: 28,
  dbPassword: 28,
  redisPassword: 28,
  apiKey: 40,
  apiKeyReadOnly: 40,
  sogoUrlEncryptionKey: 16,
  // Mailcow's admin UI password: 28 like the others (letters and digits pass Mailcow's password policy checks).
  adminPassword: 28,
};

export interface ZoneSecretsArgs {
  /** The zone namespace (holds Mailcow's Secret). */
  namespace: pulumi.Input<string>;
  /** The platform namespace (holds the controller's Secret); it must already exist. */
  platformNamespace: string;
  controllerSecretName: string;
  /** Where the controller reaches Mailcow's API: `mailcowApiBaseUrl(ns)` in-cluster, the external URL otherwise. */
  apiUrl: pulumi.Input<string>;
  mailHostname: string;
}

export class ZoneSecrets extends pulumi.ComponentResource {
  readonly mailcowSecretName: string = MAILCOW_SECRET.name;
  readonly controllerSecretName: string;
  readonly controllerSecretNamespace: string;
  /** Mailcow's read-write API key, as a Pulumi secret. */
  readonly apiKey: pulumi.Output<string>;

  constructor(name: string, args: ZoneSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mail-zone:zone:ZoneSecrets", name, {}, opts);
    const values = {} as Record<keyof typeof MAILCOW_SECRET.keys, pulumi.Output<string>>;
    for (const [field, length] of Object.entries(PASSWORDS) as [keyof typeof PASSWORDS, number][]) {
      // Letters and digits only: Mailcow strips API keys to [a-zA-Z0-9-], and mailcow.conf values are not quoted.
      const password = new random.RandomPassword(
        `${name}-${MAILCOW_SECRET.keys[field].toLowerCase().replaceAll("_", "-")}`,
        { length, special: false, upper: true, lower: true, numeric: true },
        { parent: this, additionalSecretOutputs: ["result"] },
      );
      values[field] = pulumi.secret(password.result);
    }
    const stringData: Record<string, pulumi.Output<string>> = {};
    for (const [field, key] of Object.entries(MAILCOW_SECRET.keys) as [keyof typeof PASSWORDS, string][]) {
      stringData[key] = values[field];
    }
    new k8s.core.v1.Secret(
      `${name}-mailcow`,
      {
        metadata: { name: MAILCOW_SECRET.name, namespace: args.namespace, labels: zoneLabels("secrets") },
        type: "Opaque",
        stringData,
      },
      { parent: this },
    );

    this.controllerSecretName = args.controllerSecretName;
    this.controllerSecretNamespace = args.platformNamespace;
    this.apiKey = values.apiKey;
    new k8s.core.v1.Secret(
      `${name}-controller`,
      {
        metadata: {
          name: args.controllerSecretName,
          namespace: args.platformNamespace,
          labels: zoneLabels("controller-secret"),
        },
        type: "Opaque",
        stringData: {
          [CONTROLLER_SECRET_KEYS.apiUrl]: args.apiUrl,
          [CONTROLLER_SECRET_KEYS.apiKey]: values.apiKey,
          [CONTROLLER_SECRET_KEYS.hostname]: args.mailHostname,
        },
      },
      { parent: this },
    );
    this.registerOutputs({
      mailcowSecretName: this.mailcowSecretName,
      controllerSecretName: this.controllerSecretName,
      apiKey: this.apiKey,
    });
  }
}
