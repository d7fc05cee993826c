export { kubeConfigFor } from "./kubeconfig";
export {
  type Fault,
  type KubernetesDouble,
  type KubernetesDoubleOptions,
  type LoggedRequest,
  matchesSelector,
  mergePatch,
  type NamespaceObject,
  type NamespaceSeed,
  startKubernetesDouble,
} from "./server";
