// The popup works before, or without, the wasm: the search is a GET form and Connect a plain
// form post that ends on the last step, whose link leads to Vercel's `next`.
import { test, expect } from "@playwright/test";
import { Dashboard } from "./pages";

test("install with JavaScript disabled in the popup", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL: "http://127.0.0.1:3410" });
  const dashboardContext = await browser.newContext({ baseURL: "http://127.0.0.1:3410" });
  const dashboard = new Dashboard(await dashboardContext.newPage());
  // The dashboard needs JavaScript to open the popup; the popup itself is opened in a context
  // without it by following the same first hop.
  const page = await context.newPage();
  await page.goto("/integrations/tether/begin?account=team_sim_acme");
  await expect(page.getByTestId("scope")).toContainText("Acme Robotics");

  await page.getByLabel("Search projects").fill("acme-app-077");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.locator("li.project")).toHaveCount(1);
  await page.getByLabel("Resource for acme-app-077").selectOption({ label: "Create a new resource" });
  await page.getByRole("button", { name: "Connect" }).click();
  // The last step says what was written; without scripts it waits for the button.
  await expect(page.getByTestId("done")).toBeVisible();
  await expect(page.getByRole("button", { name: "Stay on this page" })).toBeHidden();
  await page.getByRole("link", { name: "Return to Vercel" }).click();
  await expect(page.getByTestId("installed")).toBeVisible();

  await dashboard.open();
  await expect(dashboard.envRows("acme-app-077")).toHaveCount(3);
  await context.close();
  await dashboardContext.close();
});

// Past the first rows, a big team's projects wait behind a "more projects" fold, which the
// browser neither styles nor lays out until it is opened; without JavaScript it opens and posts
// like the rest of the form.
test("link a project from behind the fold with JavaScript disabled", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL: "http://127.0.0.1:3410" });
  const page = await context.newPage();
  await page.goto("/integrations/tether/begin?account=team_sim_acme");
  const folded = page.getByLabel("Resource for acme-app-233");
  await expect(page.locator("li.project:visible")).toHaveCount(8);
  await expect(folded).toBeHidden();

  // The suggested project (chosen for a first install) is left out, as a user would.
  await page.locator("li.project.recent select").selectOption("skip");
  await page.getByText(/^Show \d+ more projects$/).click();
  await folded.selectOption({ label: "Create a new resource" });
  await page.getByRole("button", { name: "Connect" }).click();
  // The last step says what was written; without scripts it waits for the button.
  await expect(page.getByTestId("done")).toBeVisible();
  await expect(page.getByRole("button", { name: "Stay on this page" })).toBeHidden();
  await page.getByRole("link", { name: "Return to Vercel" }).click();
  await expect(page.getByTestId("installed")).toBeVisible();

  const dashboardContext = await browser.newContext({ baseURL: "http://127.0.0.1:3410" });
  const dashboard = new Dashboard(await dashboardContext.newPage());
  await dashboard.open();
  await expect(dashboard.envRows("acme-app-233")).toHaveCount(3);
  await context.close();
  await dashboardContext.close();
});
