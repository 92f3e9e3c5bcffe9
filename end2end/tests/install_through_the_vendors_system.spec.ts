// A vendor plugged in its own system over the HTTP contract (here the reference vendor, with its
// own database): a team installs, creates a database in the vendor's system for one project and
// connects a second project to it, and Vercel then holds the variables the vendor named.
import { test, expect } from "@playwright/test";
import { Dashboard } from "./pages";

test.use({ baseURL: "http://127.0.0.1:3430" });

test("install through the vendor's own system: a new database, then the same one again", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  const popup = await dashboard.install("Acme Robotics");
  await expect(popup.scope()).toContainText("Acme Robotics");
  await popup.waitUntilHydrated();

  await popup.search("acme-app-007");
  await popup.choose("acme-app-007", "Create a new resource");
  await popup.connectAndReturnToVercel();
  expect(popup.errors).toEqual([]);
  await expect(dashboard.latestInstallationState()).toHaveText("reached next");
  // REFDB_URL and REFDB_REGION once each, REFDB_API_KEY sensitive (production, preview) and
  // encrypted (development).
  await expect(dashboard.envRows("acme-app-007")).toHaveCount(4);
  await expect(dashboard.envRows("acme-app-007").filter({ hasText: "sensitive" })).toContainText("REFDB_API_KEY");

  // Configure, from Vercel: the vendor's database is listed and a second project joins it.
  const again = await dashboard.install("Acme Robotics");
  await again.waitUntilHydrated();
  await again.search("acme-app-008");
  const database = again.page.getByLabel("Resource for acme-app-008").locator("option", { hasText: "acme-app-007-db" });
  await expect(database).toHaveCount(1);
  await again.choose("acme-app-008", "Connect acme-app-007-db");
  await again.connectAndReturnToVercel();
  expect(again.errors).toEqual([]);
  await expect(dashboard.envRows("acme-app-008")).toHaveCount(4);
});
