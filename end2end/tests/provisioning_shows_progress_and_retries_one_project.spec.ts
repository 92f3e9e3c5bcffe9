// Connect shows each project's progress and outcome. A project whose env write Vercel keeps
// failing is reported on its row with a Retry of its own; retrying it alone finishes the
// install, and the last step lists each project with the variables written to it.
import { test, expect } from "@playwright/test";
import { SIM } from "../playwright.config";
import { newTeam, openPopup } from "./helpers";

test("provisioning shows each project and a failed one is retried alone", async ({ page, request }) => {
  const team = await newTeam(request, "Retry", 3);
  await openPopup(page, team);
  await expect(page.locator("form.search[data-hydrated=true]")).toBeVisible();
  await page.getByRole("button", { name: "Select all shown" }).click();
  await expect(page.getByTestId("summary")).toHaveText("3 projects chosen: 3 new resources.");

  // Every attempt at the second project's env write fails (Tether tries each call 4 times).
  const rows = page.locator("li.project");
  const failing = (await rows.nth(1).locator("select").getAttribute("name"))!.match(/^choices\[(.+)\]$/)![1];
  const failingName = (await rows.nth(1).locator("span").first().textContent())!;
  const faults = { method: "POST", path_prefix: `/v10/projects/${failing}/env`, status: 500, count: 4 };
  expect((await request.post(`${SIM}/sim/api/faults`, { data: faults })).ok()).toBe(true);

  await page.getByRole("button", { name: "Connect" }).click();
  await expect(rows.nth(0).locator(".status")).toHaveAttribute("data-state", "done");
  await expect(rows.nth(2).locator(".status")).toHaveAttribute("data-state", "done");
  await expect(rows.nth(1).locator(".status")).toHaveAttribute("data-state", "failed", { timeout: 15_000 });
  // The popup stays, says what failed, and offers to retry that project alone.
  await expect(page.getByTestId("done")).toHaveCount(0);
  const retry = page.getByRole("button", { name: `Retry ${failingName}` });
  await expect(retry).toBeVisible();
  await expect(page.getByRole("button", { name: /^Retry / })).toHaveCount(1);

  await retry.click();
  await expect(page.getByTestId("done")).toHaveText("Acme DB is connected to 3 projects");
  for (const row of await page.locator("ul.links li").all()) {
    await expect(row.locator(".keys")).toHaveText("ACME_API_KEY, ACME_URL");
  }
  await expect(page.locator("ul.links li")).toHaveCount(3);
});
