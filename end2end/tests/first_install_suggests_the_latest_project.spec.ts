// Vercel's approval checklist: the popup pre-selects the first project to streamline the
// install. A first marketplace install comes with the most recently updated project chosen
// with a new resource, marked at the top; the summary says so and one click on Connect finishes.
import { test, expect } from "@playwright/test";
import { Dashboard } from "./pages";
import { addTeam } from "./helpers";

test("the most recent project comes chosen and one click connects it", async ({ page, request }) => {
  const team = await addTeam(request, "Suggested", 4);
  // The team's projects are made newest first: app-0 was updated last.
  const latest = `${team.id}-app-0`;
  const dashboard = new Dashboard(page);
  await dashboard.open();
  const popup = await dashboard.install("Suggested");

  const first = popup.page.locator("li.project").first();
  await expect(first).toHaveClass(/recent/);
  await expect(first).toContainText(latest);
  await expect(first).toContainText("Updated most recently");
  await expect(first.locator("select")).toHaveValue("new");
  await expect(popup.summary()).toHaveText(
    "1 project chosen: 1 new resource. The most recently updated project comes chosen.",
  );
  await expect(popup.page.getByLabel(`Resource for ${team.id}-app-1`)).toHaveValue("skip");

  await popup.waitUntilHydrated();
  await popup.connectAndReturnToVercel();
  expect(popup.errors).toEqual([]);
  await expect(dashboard.latestInstallationState()).toHaveText("reached next");
  await expect(dashboard.envRows(latest)).toHaveCount(3);
  await expect(dashboard.envRows(`${team.id}-app-1`)).toHaveCount(0);
});
