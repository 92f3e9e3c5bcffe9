// A Deploy Button used in a team that already has the integration: Vercel sends the existing
// configurationId, and Tether continues that installation instead of starting a second one.
import { test, expect } from "@playwright/test";
import { Dashboard } from "./pages";

test("deploy into a team that already has the integration", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  const first = await dashboard.install("Acme Robotics");
  await expect(first.scope()).toContainText("Acme Robotics");
  const installed = first.page.url();
  await first.page.close();

  const second = await dashboard.deploy("Acme Robotics");
  await expect(second.scope()).toContainText("Acme Robotics");
  expect(second.page.url()).toEqual(installed);
  await expect(second.page.locator("li.project select[name^='choices'] >> nth=0")).toHaveValue("new");
  await second.waitUntilHydrated();
  await second.connectAndReturnToVercel();
});
