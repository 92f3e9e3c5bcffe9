// The tarball as an operator runs it: `cargo xtask test` unpacked it in an empty folder outside
// the repository and started its server and simulator with only what INSTALL.md names. A user
// installs; the popup is styled and hydrates from the tarball's own site, sent brotli-compressed as
// packed.
import { test, expect, type Response } from "@playwright/test";
import { Dashboard } from "../tests/pages";

test("install through a Tether started from the tarball", async ({ page }) => {
  const site: Response[] = [];
  page.context().on("response", (response) => {
    if (/\/pkg\/tether\.(wasm|js|css)$/.test(new URL(response.url()).pathname)) site.push(response);
  });
  const dashboard = new Dashboard(page);
  await dashboard.open();
  const popup = await dashboard.install("Alice Example");
  await popup.waitUntilHydrated();

  // The stylesheet comes inside the page, read from the tarball's site at start.
  expect(site.map((r) => new URL(r.url()).pathname).sort()).toEqual(["/pkg/tether.js", "/pkg/tether.wasm"]);
  expect(await popup.page.evaluate(() => getComputedStyle(document.body).fontFamily)).toContain("system-ui");
  for (const response of site) {
    expect(response.status(), response.url()).toBe(200);
    expect(await response.headerValue("content-encoding"), response.url()).toBe("br");
  }

  await popup.leaveOutSuggested();
  await popup.choose("alice-app-001", "Create a new resource");
  await popup.connectAndReturnToVercel();
  await expect(dashboard.latestInstallationState()).toHaveText("reached next");
  await expect(dashboard.envRows("alice-app-001")).toHaveCount(3);
  expect(popup.errors).toEqual([]);
});
