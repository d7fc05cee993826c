import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    // test/real needs the lab's binaries and a control plane: `npm run test:real` runs it.
    exclude: ["node_modules/**", "dist/**", "test/real/**"],
    // Pulumi's runtime keeps process-wide state; a fork per file keeps each file's mock engine apart.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
