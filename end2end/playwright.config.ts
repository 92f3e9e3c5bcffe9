// Playwright drives Debian's Chromium (no browser download) against the release build of Tether
// and the simulator, started here on their own ports with a fresh SQLite database.
import { defineConfig } from "@playwright/test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: [
    {
      command: "../target/release/vercel-sim",
      env: {
        SIM_ADDR: "127.0.0.1:3410",
        SIM_REDIRECT_URL: `${TETHER}/callback`,
        SIM_WEBHOOK_URL: `${TETHER}/webhooks/vercel`,
      },
      url: `${SIM}/sim/api/state`,
      reuseExistingServer: false,
      stdout: "ignore",
      stderr: "pipe",
    },
    {
      command: "./target/release/server",
      cwd: "..",
      env: {
        TETHER_MODE: "sandbox",
        TETHER_ADDR: "127.0.0.1:3400",
        TETHER_PUBLIC_URL: TETHER,
        TETHER_SIMULATOR_URL: SIM,
        TETHER_DATA_DIR: dataDir,
        RUST_LOG: "info",
      },
      url: `${TETHER}/healthz`,
      reuseExistingServer: false,
      stdout: "ignore",
      stderr: "pipe",
    },
    {
      command: "../target/release/vercel-sim",
      env: {
        SIM_ADDR: "127.0.0.1:3430",
        SIM_REDIRECT_URL: `${VENDOR_TETHER}/callback`,
        SIM_WEBHOOK_URL: `${VENDOR_TETHER}/webhooks/vercel`,
      },
      url: `${VENDOR_SIM}/sim/api/state`,
      reuseExistingServer: false,
      stdout: "ignore",
      stderr: "pipe",
    },
    {
      command: "../target/release/reference-vendor",
      env: {
        REFVENDOR_ADDR: "127.0.0.1:3440",
        REFVENDOR_SECRETS: VENDOR_SECRETS,
        REFVENDOR_DATABASE_URL: `sqlite://${vendorDataDir}/vendor.db`,
      },
      url: `${VENDOR}/healthz`,
      reuseExistingServer: false,
      stdout: "ignore",
      stderr: "pipe",
    },
    {
      command: "./target/release/server",
      cwd: "..",
      env: {
        TETHER_MODE: "sandbox",
        TETHER_ADDR: "127.0.0.1:3420",
        TETHER_PUBLIC_URL: VENDOR_TETHER,
        TETHER_SIMULATOR_URL: VENDOR_SIM,
        TETHER_DATA_DIR: `${vendorDataDir}/tether`,
        TETHER_PROVIDER_KIND: "http",
        TETHER_PROVIDER_URL: `${VENDOR}/tether/v1`,
        TETHER_PROVIDER_SECRETS: VENDOR_SECRETS,
        TETHER_PROVIDER_ACCOUNT_LINK_URL: `${VENDOR}/link`,
        RUST_LOG: "info",
      },
      url: `${VENDOR_TETHER}/healthz`,
      reuseExistingServer: false,
      stdout: "ignore",
      stderr: "pipe",
    },
  ],
});

export { TETHER, SIM, VENDOR_SIM };
