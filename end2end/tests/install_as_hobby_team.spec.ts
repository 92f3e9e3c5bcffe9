// A newer Vercel account's personal scope is a Hobby team: the popup arrives with a `teamId`
// although the user picked their own account. It must install like any other scope.
import { test, expect } from "@playwright/test";
import { Dashboard } from "./pages";

test("install on a Hobby team", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await expect(page.getByText("Bob's projects (Hobby team)")).toBeVisible();
  const popup = await dashboard.install("Bob's projects");

  await expect(popup.scope()).toContainText("Bob's projects");
  await popup.waitUntilHydrated();
  await popup.leaveOutSuggested();
  await popup.choose("bob-app-000", "Create a new resource");
  await popup.connectAndReturnToVercel();
  expect(popup.errors).toEqual([]);

  await expect(dashboard.latestInstallationState()).toHaveText("reached next");
  await expect(dashboard.envRows("bob-app-000")).toHaveCount(3);
  await expect(dashboard.envRows("bob-app-001")).toHaveCount(0);
});
