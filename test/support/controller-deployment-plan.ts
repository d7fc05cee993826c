/**
 * Plans a ControllerDeployment under mocks with the fixed arguments the component tests share (namespace
 * `platform`, an example image, the Mailcow Secret's name) plus what a test adds, and returns the plan with the
 * component's URL, token and auth Secret name as outputs.
 */
import type { ControllerDeploymentArgs } from "../../components/controller-deployment";
import { planProgram } from "../../stacks/preview/engine";

export async function planControllerDeployment(extra: Partial<ControllerDeploymentArgs> = {}) {
  return planProgram(
    async () => {
      const { ControllerDeployment } = await import("../../components/controller-deployment");
      const c = new ControllerDeployment("controller", {
        namespace: "platform",
        image: "ghcr.io/example/mail-zone-controller:1.0.0",
        mailcowSecretName: "mail-zone-controller",
        ...extra,
      });
      return { url: c.url, token: c.token, secret: c.authSecretName };
    },
    { project: "mail-zone", stack: "test" },
  );
}
