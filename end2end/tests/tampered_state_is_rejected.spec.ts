// A state altered on the way back from Vercel is refused, with a way to start again.
import { test, expect } from "@playwright/test";
import { TETHER_URL } from "./pages";

test("a tampered state is refused", async ({ page }) => {
  await page.goto(`${TETHER_URL}/install/start`);
  const link = page.getByRole("link", { name: "Install for Acme Robotics (team)" });
  const href = await link.getAttribute("href");
  const tampered = href!.replace(/state=([0-9a-f])/, (_, c) => `state=${c === "0" ? "1" : "0"}`);
  expect(tampered).not.toEqual(href);
  await page.goto(tampered);

  await expect(page.getByRole("heading", { name: "This installation link is not valid here" })).toBeVisible();
  await expect(page.getByText("Nothing was sent to Vercel")).toBeVisible();
  await page.getByRole("link", { name: "Start again" }).click();
  await expect(page.getByRole("heading", { name: "Add Tether" })).toBeVisible();
});
