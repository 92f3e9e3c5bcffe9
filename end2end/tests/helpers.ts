// Shared steps of the layout, accessibility and picker specs.
import { expect, type APIRequestContext, type Page } from "@playwright/test";
import { SIM } from "../playwright.config";
import { TETHER_URL } from "./pages";

/** A new team at the simulator with `projects` projects; returns its id. */
export async function newTeam(request: APIRequestContext, name: string, projects: number): Promise<string> {
  return (await addTeam(request, name, projects)).id;
}

/** The same, with the ids of its projects. */
export async function addTeam(
  request: APIRequestContext,
  name: string,
  projects: number,
): Promise<{ id: string; projects: string[] }> {
  const id = `team_${name.toLowerCase().replace(/[^a-z0-9]+/g, "_")}_${Date.now()}`;
  const added = await request.post(`${SIM}/sim/api/teams`, { data: { id, name, projects } });
  expect(added.ok()).toBe(true);
  return { id, projects: await added.json() };
}

/** Renames a project at the simulator, as its owner would in Vercel's settings. */
export async function renameProject(request: APIRequestContext, project: string, name: string) {
  const renamed = await request.post(`${SIM}/sim/api/projects/${project}/rename`, { data: { name } });
  expect(renamed.ok()).toBe(true);
}

/** The longest project name Vercel allows (100 characters), with no space to break it at. */
export const LONGEST_PROJECT_NAME = `layout-${"x".repeat(93)}`;

/** Opens the popup for `team` in this page, as Vercel's Install (or Deploy) button would. */
export async function openPopup(page: Page, team: string, deploy = false): Promise<string> {
  await page.goto(`${SIM}/integrations/tether/begin?account=${team}${deploy ? "&deploy=1" : ""}`);
  await expect(page.getByTestId("scope")).toBeVisible();
  const match = new URL(page.url()).pathname.match(/^\/install\/(icfg_[A-Za-z0-9_-]+)$/);
  expect(match).not.toBeNull();
  return match![1];
}

/** The names of the sandbox's failure pages, from its gallery. */
export async function failurePages(request: APIRequestContext): Promise<string[]> {
  const index = await (await request.get(`${TETHER_URL}/sandbox/failures`)).text();
  const names = [...index.matchAll(/href="\/sandbox\/failures\/([a-z-]+)"/g)].map((m) => m[1]);
  expect(names.length).toBeGreaterThanOrEqual(19);
  return names;
}

/**
 * What does not fit the window: the page scrolling sideways, an element reaching past the
 * window's edges, or a box that clips or scrolls its content sideways (text cut off).
 */
export async function overflowProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const describe = (el: Element) => {
      const text = (el.textContent ?? "").trim().slice(0, 40);
      return `<${el.tagName.toLowerCase()}${el.className ? ` class="${el.className}"` : ""}> "${text}"`;
    };
    const problems: string[] = [];
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth) problems.push(`the page scrolls sideways (${root.scrollWidth} px)`);
    for (const el of document.body.querySelectorAll("*")) {
      const style = getComputedStyle(el);
      const rect = el.getBoundingClientRect();
      if (style.display === "none" || style.visibility === "hidden" || rect.width === 0) continue;
      if (rect.right > root.clientWidth + 1 || rect.left < -1) problems.push(`${describe(el)} leaves the window`);
      const clips = ["hidden", "clip", "auto", "scroll"].includes(style.overflowX);
      if (clips && el.scrollWidth > el.clientWidth + 1) problems.push(`${describe(el)} cuts its content off`);
    }
    return problems;
  });
}
