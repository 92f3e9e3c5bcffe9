// The tarball's spec. `cargo xtask test` unpacks `cargo xtask dist`'s tarball in an empty folder
// elsewhere and starts its server and simulator itself, as INSTALL.md tells an operator to;
// this config starts nothing and finds the simulator at TETHER_DIST_SIM.
import { defineConfig } from "@playwright/test";
import { launchOptions } from "./chromium";

const sim = process.env.TETHER_DIST_SIM;
if (!sim) throw new Error("TETHER_DIST_SIM names the simulator the unpacked tarball answers to (cargo xtask test sets it)");

export default defineConfig({
  testDir: "./dist",
  workers: 1,
  retries: 0,
  timeout: 60_000,
  reporter: [["list"]],
  use: { baseURL: sim, trace: "retain-on-failure", launchOptions },
});
