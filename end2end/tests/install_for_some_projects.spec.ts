// Vercel's install dialog lets the user give the integration all projects or only some. The
// popup offers exactly the projects it was given; with one, that project comes chosen and the
// selection is fixed (Vercel's approval checklist); a change of access at Vercel is followed.
import { test, expect } from "@playwright/test";
import { SIM } from "../playwright.config";
import { Dashboard, TETHER_URL } from "./pages";
import { addTeam } from "./helpers";

test("installed for all projects: every project is offered", async ({ page, request }) => {
  const team = await addTeam(request, "Access All", 5);
  const dashboard = new Dashboard(page);
  await dashboard.open();
  const popup = await dashboard.installFor("Access All", "all");
  await expect(popup.count()).toHaveText("Showing 5 of 5 projects");
  await expect(popup.page.getByTestId("project-access")).toHaveCount(0);
  await expect(popup.page.getByLabel("Search projects")).toBeVisible();
  for (const id of team.projects) await expect(popup.page.locator(`select[name="choices[${id}]"]`)).toHaveCount(1);
});

test("installed for three projects: only they are offered, and taking one away closes its link", async ({
  page,
  context,
  request,
}) => {
  const team = await addTeam(request, "Access Three", 6);
  const names = [1, 3, 5].map((n) => `${team.id}-app-${n}`);
  const dashboard = new Dashboard(page);
  await dashboard.open();
  const popup = await dashboard.installFor("Access Three", names);
  await expect(popup.count()).toHaveText("Showing 3 of 3 projects");
  await expect(popup.page.getByTestId("project-access")).toContainText("given 3 of the account's projects");
  for (const name of names) await expect(popup.page.getByLabel(`Resource for ${name}`)).toBeVisible();
  await popup.waitUntilHydrated();
  await popup.choose(names[2], "Create a new resource");
  await popup.connectAndReturnToVercel();
  await expect(dashboard.envRows(names[2])).toHaveCount(3);

  const configurationId = await page.locator("#installations tr").last().getAttribute("data-configuration-id");
  const configure = await context.newPage();
  await configure.goto(`${TETHER_URL}/configure?configurationId=${configurationId}`);
  const linked = configure.getByRole("heading", { name: /^Connected projects \(\d+\)$/ });
  await expect(linked).toHaveText("Connected projects (2)");

  // The owner takes every linked project away in the installation's settings at Vercel: the
  // suggested one (app-1, updated most recently of the three) and app-5 were connected.
  const kept = team.projects[3];
  const changed = await request.post(`${SIM}/sim/api/installations/${configurationId}/projects`, {
    data: { selection: "selected", projects: [kept] },
  });
  expect(changed.ok()).toBe(true);
  await expect(async () => {
    await configure.reload();
    await expect(linked).toHaveText("Connected projects (0)", { timeout: 500 });
  }).toPass({ timeout: 10_000 });
});

test("installed for one project: it comes chosen and the selection is fixed", async ({ page, request }) => {
  const team = await addTeam(request, "Access One", 4);
  const only = `${team.id}-app-2`;
  const dashboard = new Dashboard(page);
  await dashboard.open();
  const popup = await dashboard.installFor("Access One", [only]);
  await expect(popup.page.getByTestId("project-access")).toContainText(`given one project at Vercel, ${only}`);
  const select = popup.page.getByLabel(`Resource for ${only}`);
  await expect(select).toHaveValue("new");
  await expect(select.locator("option[value=skip]")).toHaveCount(0);
  await expect(popup.page.getByLabel("Search projects")).toBeHidden();
  await expect(popup.page.getByRole("button", { name: "Select all shown" })).toBeHidden();
  await popup.waitUntilHydrated();
  await popup.connectAndReturnToVercel();
  expect(popup.errors).toEqual([]);
  await expect(dashboard.envRows(only)).toHaveCount(3);
});
