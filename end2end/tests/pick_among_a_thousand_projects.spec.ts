// The picker with 1,000 projects and a Deploy Button's new one: the deployed project leads,
// marked and in view; the search narrows the list as one types; "Select all shown" and "Select
// none" act on what is shown; the summary says what Connect will do before it is pressed.
import { test, expect } from "@playwright/test";
import { newTeam, openPopup } from "./helpers";

test("pick among 1,000 projects", async ({ page, request }) => {
  const team = await newTeam(request, "Thousand", 1000);
  await openPopup(page, team, true);
  await expect(page.locator("form.search[data-hydrated=true]")).toBeVisible();
  await expect(page.getByTestId("project-count")).toHaveText("Showing 1001 of 1001 projects");

  const deployed = page.locator("li.project.current");
  await expect(deployed).toHaveCount(1);
  await expect(deployed).toBeInViewport();
  await expect(deployed).toContainText("Just deployed");
  await expect(deployed.locator("select")).toHaveValue("new");
  await expect(page.getByTestId("summary")).toHaveText("1 project chosen: 1 new resource.");

  // As one types, without a reload: the address keeps no query.
  // The projects are named `{team}-app-{n}`, n from 0 to 999: app-9, app-90 to 99, app-900 to 999.
  await page.getByLabel("Search projects").pressSequentially("-app-9");
  const shown = 111;
  await expect(page.getByTestId("project-count")).toHaveText(`Showing ${shown} of 1001 projects`);
  await expect(page.locator("li.project:visible")).toHaveCount(shown);
  expect(page.url()).not.toContain("q=");

  await page.getByRole("button", { name: "Select all shown" }).click();
  // The deployed project, hidden by the search, stays chosen too.
  await expect(page.getByTestId("summary")).toHaveText(`${shown + 1} projects chosen: ${shown + 1} new resources.`);
  await page.getByRole("button", { name: "Select none" }).click();
  await expect(page.getByTestId("summary")).toHaveText("1 project chosen: 1 new resource.");

  await page.getByLabel("Search projects").fill("");
  await expect(page.getByTestId("project-count")).toHaveText("Showing 1001 of 1001 projects");
  await deployed.locator("select").selectOption("skip");
  await expect(page.getByTestId("summary")).toHaveText("No project chosen yet.");
});
