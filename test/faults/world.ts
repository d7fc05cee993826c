/**
 * An in-process controller over the doubles for the fault tests: real app, reconciler, site directory and Mailcow
 * client; a scripted runner; a clock whose backoff sleeps return at once and are recorded.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import request from "supertest";
import { abortError, type Clock } from "../../controller/clock";
import type { NamespaceSeed } from "../doubles/kubernetes-api";
import { ScriptedRunner, type ScriptStep } from "../doubles/stack-runner/scripted-runner";
import {
  buildController,
  type Controller,
  type ControllerOptions,
  DEFAULT_SITES,
  type Doubles,
  startDoubles,
  TEST_TOKENS,
} from "../support/controller-world";

export interface FaultWorld {
  doubles: Doubles;
  controller: Controller;
  runner: ScriptedRunner;
  /** Every backoff the reconciler slept, in ms. */
  sleeps: number[];
  base: string;
  post(path: string, body?: object): Promise<request.Response>;
  get(path: string): Promise<request.Response>;
  annotations(namespace: string): Record<string, string>;
  close(): Promise<void>;
}

export async function startFaultWorld(
  options: { namespaces?: NamespaceSeed[]; runner?: ScriptStep; controller?: Partial<ControllerOptions> } = {},
): Promise<FaultWorld> {
  const doubles = await startDoubles(options.namespaces ?? DEFAULT_SITES);
  const runner = new ScriptedRunner(options.runner);
  const sleeps: number[] = [];
  const clock: Clock = {
    now: () => Date.now(),
    sleep: async (ms, signal) => {
      sleeps.push(ms);
      if (signal?.aborted) throw abortError();
      await new Promise((r) => setImmediate(r));
    },
  };
  const controller = buildController({
    kubernetesUrl: doubles.k8s.url,
    mailcowUrl: doubles.mailcow.url,
    mailcowApiKey: doubles.mailcow.apiKey,
    runner,
    clock,
    // Jitter pinned to the middle of its window, so the recorded backoffs are exact.
    random: () => 0.5,
    ...options.controller,
  });
  const server: Server = controller.app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const auth = `Bearer ${TEST_TOKENS[0]}`;
  return {
    doubles,
    controller,
    runner,
    sleeps,
    base,
    post: (path, body = {}) => request(base).post(path).set("Authorization", auth).send(body),
    get: (path) => request(base).get(path).set("Authorization", auth),
    annotations: (ns) => doubles.k8s.annotations(ns),
    close: async () => {
      await controller.shutdown(0);
      await new Promise((resolve) => server.close(resolve));
      await doubles.close();
    },
  };
}
