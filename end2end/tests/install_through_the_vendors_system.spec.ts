// A vendor plugged in its own system over the HTTP contract (here the reference vendor, with its
// own database and sign-in page): a team installs, signs in to its vendor account, creates a
// database there for one project and connects a second project to it, and Vercel then holds the
// variables the vendor named.
import { test, expect } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { Dashboard, type Popup } from "./pages";

test.use({ baseURL: "http://127.0.0.1:3430" });

test("install through the vendor's own system: a new database, then the same one again", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  const popup = await dashboard.install("Acme Robotics");
  await expect(popup.scope()).toContainText("Acme Robotics");

  await signIn(popup, "robotics");
  await popup.leaveOutSuggested();

  await popup.search("acme-app-007");
  await popup.choose("acme-app-007", "Create a new resource");
  await popup.connectAndReturnToVercel();
  expect(popup.errors).toEqual([]);
  await expect(dashboard.latestInstallationState()).toHaveText("reached next");
  // REFDB_URL and REFDB_REGION once each, REFDB_API_KEY sensitive (production, preview) and
  // encrypted (development).
  await expect(dashboard.envRows("acme-app-007")).toHaveCount(4);
  await expect(dashboard.envRows("acme-app-007").filter({ hasText: "sensitive" })).toContainText("REFDB_API_KEY");

  // A reinstall is a new installation: signed in to the same vendor account, the database
  // made before is offered, and a second project joins it.
  const again = await dashboard.install("Acme Robotics");
  await signIn(again, "robotics");
  await again.leaveOutSuggested();
  await again.search("acme-app-008");
  const database = again.page.getByLabel("Resource for acme-app-008").locator("option", { hasText: "acme-app-007-db" });
  await expect(database).toHaveCount(1);
  await again.choose("acme-app-008", "Connect acme-app-007-db");
  await again.connectAndReturnToVercel();
  expect(again.errors).toEqual([]);
  await expect(dashboard.envRows("acme-app-008")).toHaveCount(4);
});

/** Account linking: the popup sends the user to the vendor's sign-in page and back. */
async function signIn(popup: Popup, account: string) {
  // The popup's sign-in step is one of its pages: axe holds it to the same rule as the others.
  const axe = await new AxeBuilder({ page: popup.page }).analyze();
  expect(axe.violations.map((v) => v.id)).toEqual([]);
  await popup.page.getByRole("link", { name: /^Sign in to / }).click();
  await expect(popup.page.getByRole("heading", { name: "Sign in to Reference DB" })).toBeVisible();
  await popup.page.getByLabel("Your Reference DB account").fill(account);
  await popup.page.getByRole("button", { name: "Sign in" }).click();
  await expect(popup.count()).toHaveText(/^Showing (\d+) of \1 projects$/);
  await popup.waitUntilHydrated();
}
