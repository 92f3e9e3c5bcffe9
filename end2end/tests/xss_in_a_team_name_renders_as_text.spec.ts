// A team whose name is markup: the popup and the Configure page show it as text, no script
// runs, and a whole install and Configure session reports no Content Security Policy violation
// and makes no request to a third origin.
import { test, expect } from "@playwright/test";
import { Dashboard, TETHER_URL } from "./pages";

const MARKUP = "<img src=x onerror=alert(1)>";

test("a team named like markup renders as text with zero CSP violations", async ({ page, context }) => {
  const violations: string[] = [];
  context.on("console", (message) => {
    if (/Content Security Policy|Refused to/.test(message.text())) violations.push(message.text());
  });
  // Every request of the session goes to Tether or to "Vercel" (the simulator): no third origin.
  const origins = new Set<string>();
  context.on("request", (request) => {
    if (!request.url().startsWith("data:")) origins.add(new URL(request.url()).origin);
  });
  const dialogs: string[] = [];
  context.on("dialog", async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  const renamed = await page.request.post("/sim/api/accounts/team_sim_bob/name", { data: { name: MARKUP } });
  expect(renamed.ok()).toBeTruthy();
  try {
    const dashboard = new Dashboard(page);
    await dashboard.open();
    const popup = await dashboard.install(MARKUP);
    await expect(popup.scope()).toContainText(MARKUP);
    await expect(popup.scope().locator("img")).toHaveCount(0);
    await popup.waitUntilHydrated();
    await popup.leaveOutSuggested();
    await popup.choose("bob-app-001", "Create a new resource");
    await popup.connectAndReturnToVercel();

    const configurationId = await page.locator("#installations tr").last().getAttribute("data-configuration-id");
    const opened = context.waitForEvent("page");
    await page.getByRole("link", { name: `Configure ${configurationId}` }).click();
    const configure = await opened;
    await expect(configure.getByTestId("scope")).toContainText(MARKUP);
    await expect(configure.getByTestId("scope").locator("img")).toHaveCount(0);
    await expect(configure.getByRole("heading", { name: "Connected projects (1)" })).toBeVisible();

    expect(dialogs).toEqual([]);
    expect(violations).toEqual([]);
    const simulator = new URL(page.url()).origin;
    expect([...origins].sort()).toEqual([TETHER_URL, simulator].sort());

    // Positive control: an inline script injected into the page is refused, and the listener hears it.
    await configure.evaluate(() => {
      const script = document.createElement("script");
      script.textContent = "window.injected = true";
      document.head.appendChild(script);
    });
    await expect.poll(() => violations.length).toBe(1);
    expect(await configure.evaluate(() => (window as unknown as { injected?: boolean }).injected)).toBeUndefined();
  } finally {
    await page.request.post("/sim/api/accounts/team_sim_bob/name", { data: { name: "Bob's projects" } });
  }
});
