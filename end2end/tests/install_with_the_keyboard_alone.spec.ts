// A whole install without the mouse: Tab to a project's choice, pick it with the arrow keys, Tab
// to Connect, Enter; then Enter on "Return to Vercel". Every stop shows where the focus is.
import { test, expect, type Page } from "@playwright/test";
import { newTeam, openPopup } from "./helpers";

/** Presses Tab until the focused element matches, at most `limit` times. */
async function tabTo(page: Page, matches: (el: { tag: string; label: string; text: string }) => boolean, limit = 30) {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      return { tag: el.tagName.toLowerCase(), label: el.getAttribute("aria-label") ?? "", text: el.innerText ?? "" };
    });
    if (matches(focused)) {
      // Focus is visible: the focused control draws an outline.
      const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
      expect(outline, `${focused.tag} "${focused.label || focused.text}" shows its focus`).not.toBe("none");
      return;
    }
  }
  throw new Error("the control was not reached with Tab");
}

test("install with the keyboard alone", async ({ page, request }) => {
  const team = await newTeam(request, "Keyboard", 3);
  await openPopup(page, team);
  await expect(page.locator("form.search[data-hydrated=true]")).toBeVisible();

  // The first select is the suggested project's, chosen already; the user adds the next one.
  const label = () => page.evaluate(() => document.activeElement!.getAttribute("aria-label")!);
  await tabTo(page, (el) => el.tag === "select");
  await expect(page.getByLabel(await label())).toHaveValue("new");
  await expect(page.getByTestId("summary")).toContainText("1 project chosen: 1 new resource.");
  await tabTo(page, (el) => el.tag === "select");
  const second = await label();
  await page.keyboard.press("ArrowDown");
  await expect(page.getByLabel(second)).toHaveValue("new");
  await expect(page.getByTestId("summary")).toHaveText("2 projects chosen: 2 new resources.");

  await tabTo(page, (el) => el.tag === "button" && el.text === "Connect");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("done")).toContainText("connected to 2 projects");

  // Stop the automatic return, which leaves the focus on the way back; then take it.
  await tabTo(page, (el) => el.tag === "button" && el.text === "Stay on this page");
  await page.keyboard.press("Enter");
  await expect(page.getByText("Return to Vercel whenever you are ready.")).toBeVisible();
  expect(await page.evaluate(() => (document.activeElement as HTMLElement).innerText)).toBe("Return to Vercel");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("installed")).toBeVisible();
});
