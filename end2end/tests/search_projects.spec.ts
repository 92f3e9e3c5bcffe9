// Typing in the search box filters the list at once. This only works once the island has
// hydrated, so it fails if the wasm is missing or broken even though the HTML looks right.
import { test, expect } from "@playwright/test";
import { Dashboard } from "./pages";

test("search filters the projects while typing", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  const popup = await dashboard.install("Acme Robotics");
  await popup.waitUntilHydrated();
  // Other specs may have deployed projects into the team: count what is there.
  const total = Number((await popup.count().textContent())!.match(/of (\d+) projects/)![1]);
  expect(total).toBeGreaterThanOrEqual(250);

  await popup.page.getByLabel("Search projects").pressSequentially("app-12");
  await expect(popup.count()).toHaveText(`Showing 10 of ${total} projects`);
  await expect(popup.visibleProjects()).toHaveCount(10);
  expect(popup.page.url()).not.toContain("q=");

  await popup.search("");
  await expect(popup.visibleProjects()).toHaveCount(total);
  expect(popup.errors).toEqual([]);
});

// The fold's selects come as text to a browser running scripts (cheaper to parse); opening the
// fold makes them, so every project can still be chosen without a search.
test("opening the fold offers its projects' choices", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  const popup = await dashboard.install("Acme Robotics");
  await popup.waitUntilHydrated();
  const folded = popup.page.getByLabel("Resource for acme-app-240");
  await expect(folded).toHaveCount(0);

  await popup.page.getByText(/^Show \d+ more projects$/).click();
  await expect(folded).toBeVisible();
  await expect(folded).toHaveValue("skip");
  expect(popup.errors).toEqual([]);
});
