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
  type WatchControl,
  type WatchEvent,
  type WatchEventType,
} from "./server";
