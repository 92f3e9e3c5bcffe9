// The install page of a 250-project team costs the user at most 50,000 bytes on the wire,
// everything included (HTML, CSS, JS, wasm, headers), compressed as served. Bytes do not depend
// on the machine, so unlike timings this is asserted. The page must also work: the islands
// hydrate, so a budget met by dropping the wasm would fail here.
import { test, expect } from "@playwright/test";
import { TETHER, SIM } from "../playwright.config";

const BUDGET = 50_000;

test("the install page of a 250-project team weighs at most 50,000 bytes", async ({ page, context, request }) => {
  const team = `team_weight_${Date.now()}`;
  const added = await request.post(`${SIM}/sim/api/teams`, { data: { id: team, name: "Weighed", projects: 250 } });
  expect(added.ok()).toBe(true);

  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  const urls = new Map<string, string>();
  const bytes = new Map<string, number>();
  cdp.on("Network.responseReceived", (e) => urls.set(e.requestId, e.response.url));
  cdp.on("Network.loadingFinished", (e) => bytes.set(e.requestId, e.encodedDataLength));

  await page.goto(`${SIM}/integrations/tether/begin?account=${team}`, { waitUntil: "networkidle" });
  await expect(page.locator("li.project")).toHaveCount(250);
  await expect(page.locator("form.search[data-hydrated=true]")).toBeVisible();

  // Everything the install page itself loaded: the callback's redirect is the simulator's flow.
  const served = [...bytes].filter(([id]) => {
    const url = urls.get(id);
    return url !== undefined && url.startsWith(TETHER) && !new URL(url).pathname.startsWith("/callback");
  });
  const kinds = served.map(([id]) => new URL(urls.get(id)!).pathname);
  expect(kinds.some((p) => p.endsWith(".wasm"))).toBe(true);
  const total = served.reduce((sum, [, n]) => sum + n, 0);
  console.log(`install page, 250 projects: ${total} B on the wire in ${served.length} responses`);
  expect(total).toBeLessThanOrEqual(BUDGET);
});
