// An install that starts on the vendor's side: Tether sends the browser to Vercel with a state,
// the user picks the scope there, and Vercel sends the browser back with that state.
import { test, expect } from "@playwright/test";
import { Popup, TETHER_URL } from "./pages";

test("install through the external flow", async ({ page }) => {
  await page.goto(TETHER_URL);
  await page.getByRole("link", { name: "Install with Vercel" }).click();
  await expect(page.getByRole("heading", { name: "Add Tether" })).toBeVisible();
  expect(page.url()).toContain("state=");

  await page.getByRole("link", { name: "Install for Acme Robotics (team)" }).click();
  const popup = new Popup(page);
  await expect(popup.scope()).toContainText("Acme Robotics");
  await popup.waitUntilHydrated();
  await popup.search("acme-app-150");
  await popup.choose("acme-app-150", "Create a new resource");
  await popup.connect();
  // The last step lists what the installation connected (other specs may have linked more).
  await expect(page.getByTestId("done")).toBeVisible();
  await expect(page.locator('ul.links li[data-project="acme-app-150"]')).toContainText("ACME_URL");
  await expect(page.getByTestId("installed")).toBeVisible({ timeout: 10_000 });
});
