// The Configure URL proves nothing by itself: a browser without a session sees no installation,
// whether the id exists or not, and is offered to sign in through Vercel.
import { test, expect } from "@playwright/test";
import { TETHER_URL } from "./pages";

test("Configure in a browser with no session offers sign-in via Vercel", async ({ page }) => {
  await page.goto(`${TETHER_URL}/configure?configurationId=icfg_somebodyelses`);
  await expect(page.getByRole("heading", { name: "Sign in to configure this installation" })).toBeVisible();
  await expect(page.locator("main")).not.toContainText("acme-app");

  await page.getByRole("link", { name: "Sign in with Vercel" }).click();
  await expect(page.getByRole("heading", { name: "Add Tether" })).toBeVisible();
  await page.getByRole("link", { name: "Install for Acme Robotics (team)" }).click();
  await expect(page).toHaveURL(/\/configure\?configurationId=icfg_/);
  await expect(page.getByTestId("scope")).toContainText("Acme Robotics");
});
