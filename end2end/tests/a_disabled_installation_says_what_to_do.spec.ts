// When the member who installed the integration leaves the team, Vercel disables the
// installation. Configure says so and what an owner does, offers nothing that would fail, and
// "Check again" finds it working once an owner has transferred it to a current member.
import { test, expect } from "@playwright/test";
import { Dashboard, TETHER_URL } from "./pages";
import { addTeam } from "./helpers";

test("a disabled installation shows its state and comes back after a transfer", async ({ page, context, request }) => {
  await addTeam(request, "Leaving", 3);
  const dashboard = new Dashboard(page);
  await dashboard.open();
  const popup = await dashboard.install("Leaving");
  await popup.waitUntilHydrated();
  await popup.connectAndReturnToVercel();
  const configurationId = await page.locator("#installations tr").last().getAttribute("data-configuration-id");

  // On Vercel's side: the member who installed it leaves the team.
  const row = page.locator(`#installations tr[data-configuration-id="${configurationId}"]`);
  await page.getByRole("button", { name: `Installer of ${configurationId} leaves the team` }).click();
  await expect(row).toContainText("disabled");
  const configure = await context.newPage();
  await configure.goto(`${TETHER_URL}/configure?configurationId=${configurationId}`);
  await expect(configure.getByRole("heading", { name: "This installation is disabled at Vercel" })).toBeVisible();
  await expect(configure.getByText("transfer this integration to a current member")).toBeVisible();
  await expect(configure.getByRole("button")).toHaveCount(0);
  const checkAgain = configure.getByRole("link", { name: "Check again" });
  await expect(checkAgain).toBeVisible();

  // A team owner transfers it to a current member in Vercel's dashboard.
  await page.getByRole("button", { name: `Transfer ${configurationId} to another member` }).click();
  await expect(row).toContainText("active");
  await checkAgain.click();
  await expect(configure.getByRole("heading", { name: "Connected projects (1)" })).toBeVisible();
  await expect(configure.getByRole("button", { name: /^Disconnect / })).toHaveCount(1);
});
