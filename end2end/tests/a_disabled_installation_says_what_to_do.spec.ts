// When the member who installed the integration leaves the team, Vercel disables the
// installation. Configure says so and what an owner does, offers nothing that would fail, and
// "Check again" finds it working once an owner has transferred it to a current member.
import { test, expect } from "@playwright/test";
import { SIM } from "../playwright.config";
import { Dashboard, TETHER_URL } from "./pages";
import { addTeam } from "./helpers";

test("a disabled installation shows its state and comes back after a transfer", async ({ page, context, request }) => {
  const team = await addTeam(request, "Leaving", 3);
  const dashboard = new Dashboard(page);
  await dashboard.open();
  const popup = await dashboard.install("Leaving");
  await popup.waitUntilHydrated();
  await popup.connectAndReturnToVercel();
  const configurationId = await page.locator("#installations tr").last().getAttribute("data-configuration-id");

  const left = await request.post(`${SIM}/sim/api/teams/${team.id}/leave`, { data: { user_id: "user_sim_alice" } });
  expect(await left.json()).toBe(1);
  const configure = await context.newPage();
  await configure.goto(`${TETHER_URL}/configure?configurationId=${configurationId}`);
  await expect(configure.getByRole("heading", { name: "This installation is disabled at Vercel" })).toBeVisible();
  await expect(configure.getByText("transfer this integration to a current member")).toBeVisible();
  await expect(configure.getByRole("button")).toHaveCount(0);
  const checkAgain = configure.getByRole("link", { name: "Check again" });
  await expect(checkAgain).toBeVisible();

  const transferred = await request.post(`${SIM}/sim/api/installations/${configurationId}/transfer-to-member`, {
    data: { user_id: "user_sim_carol" },
  });
  expect(transferred.ok()).toBe(true);
  await checkAgain.click();
  await expect(configure.getByRole("heading", { name: "Connected projects (1)" })).toBeVisible();
  await expect(configure.getByRole("button", { name: /^Disconnect / })).toHaveCount(1);
});
