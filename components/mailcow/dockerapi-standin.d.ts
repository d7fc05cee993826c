/** Types of dockerapi-standin.js (plain JS so the node image runs it from a ConfigMap without a build). */
import type { IncomingMessage, Server, ServerResponse } from "node:http";

export interface StandinConfig {
  /** COMPOSE_PROJECT_NAME. */
  project: string;
  /** Compose service (e.g. `sogo-mailcow`) → container name in the Mailcow pod. */
  containers: Record<string, string>;
  jobs: ScheduledJob[];
  port: number;
  host: string;
  tlsDir: string;
  /** The admin password's file (a Secret volume); empty: the stand-in leaves the admin account alone. */
  adminPasswordFile: string;
  sslDir: string;
  target: { namespace: string; pod: string };
}

export interface ScheduledJob {
  name: string;
  container: string;
  command: string;
  everyMinutes: number;
}

export interface ExecResult {
  output: string;
  exitCode: number;
}

export interface DockerState {
  Running: boolean;
  Status: string;
  StartedAt?: string;
  Restarting?: boolean;
}

export interface StandinDeps {
  exec?: (container: string, script: string) => Promise<ExecResult>;
  podStates?: () => Promise<Record<string, DockerState>>;
  log?: (msg: string) => void;
}

export interface KubeTarget {
  base: string;
  token: () => string;
  ca?: string;
}

export interface TaskAnswer {
  json?: unknown;
  text?: string;
  restart?: boolean;
}

export interface ExecTask {
  script?: (body: Record<string, unknown>) => string | null;
  run?: (body: Record<string, unknown>, exec: (script: string) => Promise<ExecResult>) => Promise<TaskAnswer>;
  report?: "mysql_upgrade" | "info" | "text" | "raw_text" | "json_text" | "fts_rescan" | "generic";
  fallback?: string;
}

export function containerId(service: string): string;
export function listContainers(
  config: Pick<StandinConfig, "project" | "containers">,
  states?: Record<string, DockerState>,
): Record<string, { Id: string; Name: string; State: DockerState; Config: { Labels: Record<string, string> } }>;
export function createHandler(
  config: Pick<StandinConfig, "project" | "containers">,
  deps: StandinDeps,
): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
export function reportExec(task: ExecTask, result: ExecResult): TaskAnswer;
export function ssha256(password: string, salt?: Buffer): string;
export function verifySsha256(password: string, stored: string): boolean;
export function adminResetSql(hash: string): string;
export function ensureAdminPassword(
  exec: (script: string) => Promise<ExecResult>,
  password: string,
): Promise<"unchanged" | "set">;
export function adminPasswordSync(
  readPassword: () => string | undefined,
  exec: (script: string) => Promise<ExecResult>,
  log: (line: string) => void,
): () => Promise<void>;
export const EXEC_TASKS: Record<string, ExecTask>;
export function kubeExec(
  kube: KubeTarget,
  target: { namespace: string; pod: string },
  container: string,
  script: string,
  timeoutMs?: number,
): Promise<ExecResult>;
export function kubeGet(kube: KubeTarget, pathAndQuery: string): Promise<unknown>;
export function kubeFromEnv(env: Record<string, string | undefined>): KubeTarget | undefined;
export function decodeFrames(buffer: Buffer): {
  frames: { fin: boolean; opcode: number; payload: Buffer }[];
  rest: Buffer;
};
export function encodeFrame(opcode: number, payload: Buffer | string, mask: boolean): Buffer;
export function exitCodeFromStatus(status: unknown): number;
export function dueJobs(jobs: ScheduledJob[], date: Date): ScheduledJob[];
export function syncCertificate(tlsDir: string, sslDir: string): boolean;
export function statesFromPod(pod: unknown, config: Pick<StandinConfig, "containers">): Record<string, DockerState>;
export function configFromEnv(env: Record<string, string | undefined>): StandinConfig;
export function main(env: Record<string, string | undefined>): Server;
