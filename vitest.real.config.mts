import { defineConfig } from "vitest/config";

// The real suite (test/real): a real Pulumi CLI and provider against a real kube-apiserver on loopback. One file at
// a time: each starts its own control plane, and the machine has two cores.
export default defineConfig({
  test: {
    include: ["test/real/**/*.test.ts"],
    pool: "forks",
    fileParallelism: false,
    // Bounded waits inside the tests name what they waited for; these are only the outer safety nets.
    testTimeout: 900_000,
    hookTimeout: 300_000,
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
