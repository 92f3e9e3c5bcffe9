// The user already made ACME_API_KEY by hand in a project (one no other spec touches: the
// simulator keeps its state across specs). Connecting it must not overwrite
// theirs silently: the hydrated popup stops, shows the clash with "Keep yours" chosen, and the
// second Connect writes only the other keys.
import { test, expect } from "@playwright/test";
import { Dashboard } from "./pages";

test("a hand-made variable is kept", async ({ page }) => {
  const added = await page.request.post("/sim/api/projects/prj_acme123/env", {
    data: { key: "ACME_API_KEY", value: "mine", target: ["development"] },
  });
  expect(added.ok()).toBeTruthy();
  const dashboard = new Dashboard(page);
  await dashboard.open();
  const popup = await dashboard.install("Acme Robotics");
  await popup.waitUntilHydrated();
  await popup.leaveOutSuggested();
  await popup.search("acme-app-123");
  await popup.choose("acme-app-123", "Create a new resource");
  await popup.connect();

  const clash = popup.page.getByTestId("clash");
  await expect(clash).toContainText("ACME_API_KEY already exists in this project");
  await expect(popup.page.getByLabel("Keep yours: Tether skips these keys")).toBeChecked();
  await popup.waitUntilHydrated();
  await popup.connectAndReturnToVercel();
  expect(popup.errors).toEqual([]);

  await expect(dashboard.latestInstallationState()).toHaveText("reached next");
  const rows = dashboard.envRows("acme-app-123");
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ hasText: "ACME_API_KEY" })).toContainText("plain");
  await expect(rows.filter({ hasText: "ACME_URL" })).toHaveCount(1);
});
