// Every page of the popup (install, the last step, Configure and each failure page) at 360, 600
// and 1280 px wide, light and dark: nothing leaves the window or is cut off, axe finds no
// violation, and a full-page screenshot of each is kept in the test's results folder
// (end2end/test-results/…/{page}-{width}-{scheme}.png).
import { test, expect, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { TETHER_URL } from "./pages";
import { addTeam, failurePages, LONGEST_PROJECT_NAME, openPopup, overflowProblems, renameProject } from "./helpers";

const WIDTHS = [360, 600, 1280];
const SCHEMES = ["light", "dark"] as const;

/** Screenshot and overflow at this width; axe too at the narrowest (what it checks does not
 * change with the width, and 21 failure pages at three widths in two schemes take minutes). */
async function check(page: Page, name: string, width: number, scheme: string, testInfo: import("@playwright/test").TestInfo) {
  const shot = testInfo.outputPath(`${name}-${width}-${scheme}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  expect(await overflowProblems(page), `${name} at ${width} px, ${scheme}`).toEqual([]);
  if (width !== WIDTHS[0]) return;
  const axe = await new AxeBuilder({ page }).analyze();
  const found = axe.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(found, `${name} at ${width} px, ${scheme}`).toEqual([]);
}

for (const scheme of SCHEMES) {
  test(`install, last step and Configure pages fit and pass axe, ${scheme}`, async ({ browser, request }, testInfo) => {
    // One project bears the longest name Vercel allows, with nothing to break it at, and is
    // connected too, so every page below shows it. Renamed last, it is the most recently
    // updated: the popup suggests it, marked, at the top of the list.
    const team = await addTeam(request, `Layout ${scheme}`, 30);
    const long = team.projects[0];
    await renameProject(request, long, LONGEST_PROJECT_NAME);
    const context = await browser.newContext({ colorScheme: scheme, viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    const id = await openPopup(page, team.id);
    await expect(page.locator("form.search[data-hydrated=true]")).toBeVisible();
    await expect(page.locator("li.project.recent")).toContainText(LONGEST_PROJECT_NAME);
    await expect(page.locator(`select[name="choices[${long}]"]`)).toHaveValue("new");
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 720 });
      await check(page, "install", width, scheme, testInfo);
    }
    await page.getByRole("button", { name: "Connect" }).click();
    await expect(page.getByTestId("done")).toBeVisible();
    await page.getByRole("button", { name: "Stay on this page" }).click();
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 720 });
      await check(page, "done", width, scheme, testInfo);
    }
    await expect(page.getByText(LONGEST_PROJECT_NAME).first()).toBeVisible();
    await page.goto(`${TETHER_URL}/configure?configurationId=${id}`);
    await expect(page.getByRole("heading", { name: /on Vercel$/ })).toBeVisible();
    await expect(page.getByText(LONGEST_PROJECT_NAME).first()).toBeVisible();
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 720 });
      await check(page, "configure", width, scheme, testInfo);
    }
    await context.close();
  });

  test(`the start page and every failure page fit and pass axe, ${scheme}`, async ({ browser, request }, testInfo) => {
    test.setTimeout(180_000);
    const context = await browser.newContext({ colorScheme: scheme });
    const page = await context.newPage();
    await page.goto(TETHER_URL);
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 720 });
      await check(page, "start", width, scheme, testInfo);
    }
    for (const name of await failurePages(request)) {
      await page.goto(`${TETHER_URL}/sandbox/failures/${name}`);
      await expect(page.locator(`[data-failure]`)).toBeVisible();
      await expect(page.getByRole("link", { name: "Return to Vercel" })).toBeVisible();
      for (const width of WIDTHS) {
        await page.setViewportSize({ width, height: 720 });
        await check(page, `failure-${name}`, width, scheme, testInfo);
      }
    }
    await context.close();
  });
}
