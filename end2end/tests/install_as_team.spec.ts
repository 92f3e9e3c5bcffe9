// A team member installs from the marketplace and links two of the team's 250 projects: one to
// a new resource, one to an existing one. The popup must return to Vercel's `next`, and Vercel
// must then hold the env vars.
import { test, expect } from "@playwright/test";
import { Dashboard } from "./pages";

test("install as a team: one new and one existing resource", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await expect(page.getByText("Acme Robotics (team)")).toBeVisible();
  const popup = await dashboard.install("Acme Robotics");

  await expect(popup.scope()).toContainText("Acme Robotics");
  await expect(popup.scope()).toContainText("team");
  await expect(popup.count()).toHaveText(/^Showing (\d+) of \1 projects$/);
  expect(await popup.page.locator("li.project").count()).toBeGreaterThanOrEqual(250);
  expect(popup.page.url()).not.toContain("code=");

  await popup.waitUntilHydrated();
  await popup.leaveOutSuggested();
  await popup.search("acme-app-042");
  await popup.choose("acme-app-042", "Create a new resource");
  await popup.search("acme-app-199");
  await popup.choose("acme-app-199", "Connect shared-db");

  await expect(popup.summary()).toHaveText("2 projects chosen: 1 new resource, 1 connected to shared-db.");
  // The last step returns to Vercel on its own after its pause.
  await popup.connectAndReturnToVercel("wait");
  expect(popup.errors).toEqual([]);

  await expect(dashboard.latestInstallationState()).toHaveText("reached next");
  await expect(dashboard.envRows("acme-app-042")).toHaveCount(3);
  await expect(dashboard.envRows("acme-app-199")).toHaveCount(3);
  await expect(dashboard.envRows("acme-app-199").filter({ hasText: "sensitive" })).toContainText("ACME_API_KEY");
});
