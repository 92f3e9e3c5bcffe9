// A user installs on their personal account and creates a resource for one project.
import { test, expect } from "@playwright/test";
import { Dashboard } from "./pages";

test("install on a personal account", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  const popup = await dashboard.install("Alice Example");

  await expect(popup.scope()).toContainText("Alice Example");
  await expect(popup.scope()).toContainText("personal account");
  // Three seeded projects, plus any a Deploy Button spec created.
  await expect(popup.count()).toHaveText(/^Showing (\d+) of \1 projects$/);
  expect(await popup.page.locator("li.project").count()).toBeGreaterThanOrEqual(3);

  // Vercel's popup can be narrow: nothing may overflow sideways at 360 px.
  await popup.page.setViewportSize({ width: 360, height: 640 });
  const overflow = await popup.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);

  await popup.waitUntilHydrated();
  await popup.leaveOutSuggested();
  await popup.choose("alice-app-001", "Create a new resource");
  await popup.connectAndReturnToVercel();

  await expect(dashboard.latestInstallationState()).toHaveText("reached next");
  await expect(dashboard.envRows("alice-app-001")).toHaveCount(3);
  await expect(dashboard.envRows("alice-app-000")).toHaveCount(0);
});
