// The user uninstalls the integration in Vercel's dashboard. Vercel tells Tether with a signed
// webhook; the Configure page then says the installation is gone.
import { test, expect } from "@playwright/test";
import { Dashboard } from "./pages";

test("uninstall from Vercel's dashboard", async ({ page, context }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  const popup = await dashboard.install("Alice Example");
  await popup.waitUntilHydrated();
  await popup.leaveOutSuggested();
  await popup.choose("alice-app-002", "Create a new resource");
  await popup.connectAndReturnToVercel();

  const configurationId = await page.locator("#installations tr").last().getAttribute("data-configuration-id");
  const opened = context.waitForEvent("page");
  await page.getByRole("link", { name: `Configure ${configurationId}` }).click();
  const configure = await opened;
  await expect(configure.getByRole("heading", { name: "Connected projects (1)" })).toBeVisible();

  await page.getByRole("button", { name: `Uninstall ${configurationId}` }).click();
  await expect(page.locator(`#installations tr[data-configuration-id="${configurationId}"]`)).toContainText("removed");

  // The webhook is applied in the background: reload until the page says so.
  await expect(async () => {
    await configure.reload();
    await expect(configure.getByRole("heading", { name: "This installation was removed" })).toBeVisible({ timeout: 500 });
  }).toPass({ timeout: 10_000 });
  await expect(dashboard.envRows("alice-app-002")).toHaveCount(0);
});
