// A Deploy Button creates a project, then opens the integration with that project preselected.
import { test, expect } from "@playwright/test";
import { Dashboard } from "./pages";

test("install through the Deploy Button", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  const popup = await dashboard.deploy("Alice Example");

  await expect(popup.scope()).toContainText("Alice Example");
  await expect(popup.page.getByLabel("Resource for deployed-app-00")).toHaveValue("new");
  await expect(popup.page.getByLabel("Resource for alice-app-000")).toHaveValue("skip");
  await popup.waitUntilHydrated();
  await popup.connectAndReturnToVercel();
  await expect(dashboard.envRows("deployed-app-00")).toHaveCount(3);
});
