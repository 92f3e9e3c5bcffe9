// Playwright drives Debian's Chromium (no browser download) against the release build of Tether
// and the simulator, started here on their own ports with a fresh SQLite database.
import { defineConfig } from "@playwright/test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchOptions } from "./chromium";

const TETHER = "http://127.0.0.1:3400";
const SIM = "http://127.0.0.1:3410";
// A second deployment whose provider is the reference vendor, over the HTTP contract: its own
// simulator (a simulator serves one Redirect URL), Tether and vendor.
const VENDOR_TETHER = "http://127.0.0.1:3420";
const VENDOR_SIM = "http://127.0.0.1:3430";
const VENDOR = "http://127.0.0.1:3440";
// A test-only signing secret shared by Tether and the reference vendor.
const VENDOR_SECRETS = "e2e:whsec_ZTJlLW9ubHktc2lnbmluZy1zZWNyZXQtMzItYnl0ZXM=";
const dataDir = process.env.TETHER_E2E_DATA ?? mkdtempSync(join(tmpdir(), "tether-e2e-"));
process.env.TETHER_E2E_DATA = dataDir; // workers re-read this file: keep one directory
const vendorDataDir = process.env.TETHER_E2E_VENDOR_DATA ?? mkdtempSync(join(tmpdir(), "tether-e2e-vendor-"));
process.env.TETHER_E2E_VENDOR_DATA = vendorDataDir;

const QUIET = { reuseExistingServer: false, stdout: "ignore", stderr: "pipe" } as const;

/** A simulator playing Vercel for the Tether at `tether`. */
function simulator(sim: string, tether: string) {
  return {
    command: "../target/release/vercel-sim",
    env: {
      SIM_ADDR: new URL(sim).host,
      SIM_REDIRECT_URL: `${tether}/callback`,
      SIM_WEBHOOK_URL: `${tether}/webhooks/vercel`,
    },
    url: `${sim}/sim/api/state`,
    ...QUIET,
  };
}

/** The release build of Tether in sandbox mode at `tether`, against the simulator at `sim`. */
function tether(tether: string, sim: string, env: Record<string, string>) {
  return {
    command: "./target/release/server",
    cwd: "..",
    env: {
      TETHER_MODE: "sandbox",
      TETHER_ADDR: new URL(tether).host,
      TETHER_PUBLIC_URL: tether,
      TETHER_SIMULATOR_URL: sim,
      RUST_LOG: "info",
      ...env,
    },
    url: `${tether}/healthz`,
    ...QUIET,
  };
}

export default defineConfig({
  testDir: "./tests",
  // The simulator keeps one installation per scope, so installs must not interleave.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  reporter: [["list"]],
  use: {
    baseURL: SIM,
    trace: "retain-on-failure",
    launchOptions,
  },
  webServer: [
    simulator(SIM, TETHER),
    tether(TETHER, SIM, { TETHER_DATA_DIR: dataDir }),
    simulator(VENDOR_SIM, VENDOR_TETHER),
    {
      command: "../target/release/reference-vendor",
      env: {
        REFVENDOR_ADDR: new URL(VENDOR).host,
        REFVENDOR_SECRETS: VENDOR_SECRETS,
        REFVENDOR_DATABASE_URL: `sqlite://${vendorDataDir}/vendor.db`,
        REFVENDOR_TETHER_URL: VENDOR_TETHER,
      },
      url: `${VENDOR}/healthz`,
      ...QUIET,
    },
    tether(VENDOR_TETHER, VENDOR_SIM, {
      TETHER_DATA_DIR: `${vendorDataDir}/tether`,
      TETHER_PROVIDER_KIND: "http",
      TETHER_PROVIDER_URL: `${VENDOR}/tether/v1`,
      TETHER_PROVIDER_SECRETS: VENDOR_SECRETS,
      TETHER_PROVIDER_ACCOUNT_LINK_URL: `${VENDOR}/link`,
    }),
  ],
});

export { TETHER, SIM, VENDOR_SIM };
