/** Waits on a real watch of the API server (not a poll) until a namespace's annotations satisfy a condition. */
import { type KubeConfig, Watch } from "@kubernetes/client-node";

type Annotations = Record<string, string>;

export async function watchNamespaceUntil(
  kc: KubeConfig,
  name: string,
  what: string,
  condition: (annotations: Annotations) => boolean,
  timeoutMs: number,
  /** Appended to a timeout's message (e.g. the controller's log tail). */
  context: () => string = () => "",
): Promise<Annotations> {
  const watch = new Watch(kc);
  let last: Annotations = {};
  let controller: AbortController | undefined;
  let settled = false;
  try {
    return await new Promise<Annotations>((resolve, reject) => {
      const timer = setTimeout(() => {
        settled = true;
        reject(
          new Error(
            `timed out after ${timeoutMs / 1000}s waiting until ${what}; last annotations: ${JSON.stringify(last)}\n${context()}`,
          ),
        );
      }, timeoutMs);
      const start = () =>
        watch
          .watch(
            "/api/v1/namespaces",
            { fieldSelector: `metadata.name=${name}` },
            (_type: string, obj: { metadata?: { annotations?: Annotations } }) => {
              last = obj.metadata?.annotations ?? {};
              if (!settled && condition(last)) {
                settled = true;
                clearTimeout(timer);
                resolve(last);
              }
            },
            // A watch the server ends is resumed (a fresh one starts with the current state as ADDED).
            () => {
              if (!settled) setTimeout(() => void start(), 500);
            },
          )
          .then((c) => {
            controller = c;
          }, reject);
      void start();
    });
  } finally {
    controller?.abort();
  }
}
