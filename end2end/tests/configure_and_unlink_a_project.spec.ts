// From Vercel's installation page, the Configure button opens Tether's Configure page; the user
// disconnects a project and Vercel no longer holds its variables.
import { test, expect } from "@playwright/test";
import { Dashboard } from "./pages";

test("open Configure from Vercel and disconnect a project", async ({ page, context }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  const popup = await dashboard.install("Acme Robotics");
  await popup.waitUntilHydrated();
  await popup.leaveOutSuggested();
  await popup.search("acme-app-088");
  await popup.choose("acme-app-088", "Create a new resource");
  await popup.connectAndReturnToVercel();
  await expect(dashboard.envRows("acme-app-088")).toHaveCount(3);

  const configurationId = await page.locator("#installations tr").last().getAttribute("data-configuration-id");
  const opened = context.waitForEvent("page");
  await page.getByRole("link", { name: `Configure ${configurationId}` }).click();
  const configure = await opened;
  await expect(configure.getByTestId("scope")).toContainText("Acme Robotics");
  await expect(configure.locator("li[data-project='acme-app-088']")).toContainText("ACME_API_KEY");

  await configure.getByRole("button", { name: "Disconnect acme-app-088" }).click();
  await expect(configure.getByTestId("notice")).toContainText("was disconnected");
  await expect(configure.getByRole("heading", { name: "Connected projects (0)" })).toBeVisible();
  await expect(dashboard.envRows("acme-app-088")).toHaveCount(0);
});
