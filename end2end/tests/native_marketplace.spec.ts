// Vercel's native integration, played by the simulator's Marketplace: Vercel installs the
// product through Tether's Partner API, the user creates a resource from the product's form
// with a plan, connects it to two projects (Vercel writes its secrets there), rotates the
// secrets, deletes the resource and uninstalls. Once with the built-in provider, once through
// the reference vendor's own system (the http provider), where the vendor also suspends the
// resource and resets its key from its own site and Vercel shows both.
import { test, expect, type Page } from "@playwright/test";
import { Dashboard } from "./pages";

const BUILTIN_SIM = "http://127.0.0.1:3410";
const VENDOR_SIM = "http://127.0.0.1:3430";

for (const [provider, sim, secret] of [
  // Leptos.toml's [[provider.env]] for the built-in provider; the vendor's own names for it.
  ["the built-in provider", BUILTIN_SIM, "ACME_API_KEY"],
  ["the vendor's own system", VENDOR_SIM, "REFDB_API_KEY"],
] as const) {
  test(`a native install's whole life through ${provider}`, async ({ page }) => {
    const dashboard = new Dashboard(page);
    // Only what Vercel wrote for this resource: other specs' popups may have written the same
    // keys into these projects.
    const written = (project: string) =>
      dashboard.envRows(project).filter({ hasText: secret }).filter({ hasText: "for a Marketplace resource" });
    await page.goto(sim + "/");
    await page.getByRole("button", { name: "Install the product natively for Bob's projects" }).click();
    const installation = page.locator(".native-installation").last();
    await expect(installation).toBeVisible();
    await expectNoRefusal(page);
    // Tether reads the team's account at Vercel with the installation's token, for the vendor.
    const id = await installation.getAttribute("data-installation-id");
    await expect(page.locator("#market-api-calls")).toContainText(`GET /v1/installations/${id}/account`);

    // Vercel's create form: the plans come from Tether's plans endpoint.
    const form = installation.getByRole("form", { name: /^Create a resource in / });
    await expect(form.getByLabel("Plan").locator("option")).toHaveText(["Free (free)"]);
    await form.getByLabel("Resource name").fill("orders-db");
    await form.getByRole("button", { name: "Create resource" }).click();
    await expectNoRefusal(page);
    const resource = installation.locator('[data-resource="orders-db"]');
    await expect(resource).toContainText("(ready, free)");
    await expect(resource).toContainText(secret);

    for (const project of ["bob-app-000", "bob-app-001"]) {
      await resource.getByLabel("Project for orders-db").selectOption({ label: project });
      await resource.getByRole("button", { name: "Connect orders-db", exact: true }).click();
      await expectNoRefusal(page);
      await expect(written(project)).not.toHaveCount(0);
    }
    await expect(page.locator(".native-installation").last().locator('[data-resource="orders-db"]')).toContainText(
      "connected to bob-app-000, bob-app-001",
    );

    // "Open in …": single sign-on lands on this resource, signed in: on Tether's page with the
    // built-in provider, on the vendor's own site through its sign-in page otherwise.
    const opened = await page.context().newPage();
    // The installer's link, not the viewer's ("Open in Acme DB as a viewer: …").
    const openLink = page
      .locator(".native-installation")
      .last()
      .getByRole("link", { name: /^Open in (?!.* as a viewer:)[^:]+: orders-db$/ });
    const asViewer = page.locator(".native-installation").last().getByRole("link", { name: /as a viewer: orders-db$/ });
    await opened.goto(sim + (await openLink.getAttribute("href")));
    if (sim === BUILTIN_SIM) {
      await expect(opened).toHaveURL(/\/native\/icfg_[^?]+\?resource=/);
      const landed = opened.locator('[data-focused="true"]');
      await expect(landed).toContainText("orders-db");
      await expect(landed.getByTestId("connected")).toHaveText("Connected to bob-app-000, bob-app-001");
      await expect(opened.getByTestId("role")).toHaveAttribute("data-read-only", "false");
      // An admin rotates from Tether's page: Vercel gets the new secrets and rewrites the
      // connected projects' variables.
      const envIds = async () =>
        (await written("bob-app-000").evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.envId))).join();
      const before = await envIds();
      await opened.getByRole("button", { name: "Rotate the secrets of orders-db" }).click();
      await expect(opened.getByTestId("notice")).toContainText("on their way to Vercel");
      await expect(page.locator("#market-api-calls")).toContainText("/secrets");
      await expect.poll(envIds).not.toBe(before);
      await opened.goto(sim + (await asViewer.getAttribute("href")));
      await expect(opened.getByTestId("role")).toHaveAttribute("data-read-only", "true");
      await expect(opened.getByRole("button", { name: "Rotate the secrets of orders-db" })).toHaveCount(0);
    } else {
      await expect(opened.getByTestId("signed-in")).toHaveAttribute("data-role", "admin");
      await expect(opened.getByTestId("resource")).toHaveText("Resource: orders-db");
      // The ticket is single use: the same address again signs nobody in.
      await opened.reload();
      await expect(opened.getByTestId("refused")).toContainText("used already");
      // The vendor's own changes reach Vercel through Tether: opened again as the admin, the
      // vendor suspends the database, and Vercel shows its status and notification.
      await opened.goto(sim + (await openLink.getAttribute("href")));
      await opened.getByRole("button", { name: "Suspend this database" }).click();
      await expect(opened.getByTestId("told")).toHaveText("Tether took it: Vercel will show it shortly.");
      const notification = page.getByRole("note", { name: "Notification for orders-db" });
      await expect(notification).toContainText("warn: Suspended: over the plan's storage");
      await expect(page.locator('[data-resource="orders-db"]')).toContainText("(suspended, free)");
      // The vendor resets the key itself: Vercel rewrites the connected projects' variables.
      const envIds = async () =>
        (await written("bob-app-000").evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.envId))).join();
      const before = await envIds();
      await opened.getByRole("button", { name: "Reset its API key" }).click();
      await expect(opened.getByTestId("told")).toHaveText("Tether took it: Vercel will show it shortly.");
      await expect.poll(envIds).not.toBe(before);
      // The notification's `sso:` link signs the user in to the vendor through Vercel.
      await opened.goto(sim + (await notification.getByRole("link", { name: "Open" }).getAttribute("href")));
      await expect(opened.getByTestId("signed-in")).toHaveAttribute("data-role", "admin");
      await opened.goto(sim + (await asViewer.getAttribute("href")));
      await expect(opened.getByTestId("signed-in")).toHaveAttribute("data-role", "viewer");
      await expect(opened.getByRole("button", { name: "Suspend this database" })).toHaveCount(0);
    }
    await opened.close();

    await page.locator(".native-installation").last().getByRole("button", { name: "Rotate orders-db", exact: true }).click();
    await expectNoRefusal(page);
    // The latest rotate call (a redraw of the create form may ask for plans after it).
    const rotated = page.locator("#market-calls tr").filter({ hasText: "/secrets/rotate" }).first();
    await expect(rotated).toContainText("200");

    await page.locator(".native-installation").last().getByRole("button", { name: "Delete orders-db", exact: true }).click();
    await expectNoRefusal(page);
    await expect(page.locator('[data-resource="orders-db"]')).toHaveCount(0);
    for (const project of ["bob-app-000", "bob-app-001"]) {
      await expect(written(project)).toHaveCount(0);
    }

    await page.getByRole("button", { name: `Uninstall native ${id}`, exact: true }).click();
    await expectNoRefusal(page);
    await expect(page.locator(`.native-installation[data-installation-id="${id}"]`)).toHaveCount(0);
  });
}

test("a forged call from the Marketplace is refused and creates nothing", async ({ page }) => {
  await page.goto(BUILTIN_SIM + "/");
  await page.getByRole("button", { name: "Install the product natively for Alice Example" }).click();
  await expectNoRefusal(page);
  const installation = page.locator(".native-installation").last();
  await expect(installation).toBeVisible();
  await page.getByLabel("Fault for the next Partner call").selectOption("expired");
  const form = installation.getByRole("form", { name: /^Create a resource in / });
  await expect(form.getByLabel("Plan").locator("option")).toHaveText(["Free (free)"]);
  await form.getByLabel("Resource name").fill("forged-db");
  await form.getByRole("button", { name: "Create resource" }).click();
  await expect(page.getByRole("status")).toContainText("answered 401");
  await expect(page.locator('[data-resource="forged-db"]')).toHaveCount(0);
});

test("a sign-in from the Marketplace whose identity does not verify signs nobody in", async ({ page }) => {
  await page.goto(BUILTIN_SIM + "/");
  await page.getByRole("button", { name: "Install the product natively for Alice Example" }).click();
  await expectNoRefusal(page);
  const installation = page.locator(".native-installation").last();
  await expect(installation).toBeVisible();
  const form = installation.getByRole("form", { name: /^Create a resource in / });
  await expect(form.getByLabel("Plan").locator("option")).toHaveText(["Free (free)"]);
  await form.getByLabel("Resource name").fill("sso-db");
  await form.getByRole("button", { name: "Create resource" }).click();
  await expectNoRefusal(page);
  // The fault reaches the simulator before the link is followed.
  const faultSet = page.waitForResponse((response) => response.url().endsWith("/sim/api/market/sso-fault"));
  await page.getByLabel("Fault for the next sign-in").selectOption("expired");
  await faultSet;
  const link = page
    .locator('[data-resource="sso-db"]')
    .getByRole("link", { name: /^Open in (?!.* as a viewer:)[^:]+: sso-db$/ });
  const href = await link.getAttribute("href");
  await page.goto(BUILTIN_SIM + href);
  await expect(page.locator("[data-failure]")).toHaveAttribute("data-failure", "sso-unverified");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("The sign-in could not be verified");
  await expect(page.getByRole("link", { name: "Return to Vercel" })).toHaveAttribute("href", BUILTIN_SIM + "/");
});

/** The dashboard says nothing went wrong with the last Marketplace action. */
async function expectNoRefusal(page: Page) {
  await expect(page.locator("#market-message")).toHaveAttribute("data-state", "ok");
}
