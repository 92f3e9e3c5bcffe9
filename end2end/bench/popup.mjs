// The popup's figures in Chromium, for `cargo xtask bench`: bytes on the wire, time to usable
// and to hydrated for a small and a big team, and linking through the hydrated popup and the
// plain form against a simulator whose env writes are slow. Prints one JSON object on stdout;
// progress goes to stderr. Timings are reported, never asserted.
//
// Env: BENCH_TETHER, BENCH_SIM (base URLs), BENCH_ENV_WRITE_LATENCY_MS (what the simulator was
// started with), BENCH_RUNS (page loads per figure, default 21), BENCH_DEBUG (set: every load's
// times on stderr, sorted, to see their spread).
import { chromium } from "@playwright/test";

const TETHER = process.env.BENCH_TETHER;
const SIM = process.env.BENCH_SIM;
const LATENCY_MS = Number(process.env.BENCH_ENV_WRITE_LATENCY_MS ?? 0);
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
// The server's provisioning concurrency per installation: C in the bound N·L/C.
const IN_FLIGHT = 4;
const LINK_PROJECTS = 100;

const log = (...args) => console.error("   ", ...args);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function addTeam(id, projects) {
  const response = await fetch(`${SIM}/sim/api/teams`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id, name: `Bench ${projects}`, projects }),
  });
  if (!response.ok) throw new Error(`adding ${id}: ${response.status} ${await response.text()}`);
}

// Reports, in the page's own clock, its first contentful paint and the moment every island on
// it has hydrated, as console messages. Nothing of the bench's runs in the page while it loads:
// Playwright's `waitForFunction` evaluates Playwright's own script in the page, and Chromium's
// traces showed that evaluation (31 to 49 ms of the main thread) between the first frame's commit
// and its presentation, so a figure could be partly the bench's.
function reportTimes() {
  const say = (what, at) => console.debug(`tether-bench ${what} ${at}`);
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (entry.name === "first-contentful-paint") say("usable", entry.startTime);
  }).observe({ type: "paint", buffered: true });
  let hydrated = false;
  const check = () => {
    const forms = document.querySelectorAll("form[data-hydrated]");
    if (!hydrated && forms.length && [...forms].every((f) => f.dataset.hydrated === "true")) {
      hydrated = true;
      say("hydrated", performance.now());
    }
  };
  new MutationObserver(check).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-hydrated"] });
}

/** Opens the install page of a new session for `team`; returns the page and its context. */
async function openInstall(browser, team, javaScriptEnabled = true) {
  const context = await browser.newContext({ javaScriptEnabled });
  const page = await context.newPage();
  await page.goto(`${SIM}/integrations/tether/begin?account=${team}`);
  if (!new URL(page.url()).pathname.startsWith("/install/")) throw new Error(`not the install page: ${page.url()}`);
  return { context, page };
}

/** Bytes on the wire for one load of the install page, by kind, headers included. */
async function weigh(browser, team) {
  const { context, page } = await openInstall(browser, team);
  const url = page.url();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  const kinds = new Map();
  const bytes = {};
  cdp.on("Network.responseReceived", (e) => kinds.set(e.requestId, kindOf(e.response.url, e.type)));
  cdp.on("Network.loadingFinished", (e) => {
    const kind = kinds.get(e.requestId) ?? "other";
    bytes[kind] = (bytes[kind] ?? 0) + e.encodedDataLength;
  });
  await page.goto(url, { waitUntil: "networkidle" });
  await page.locator("form.search[data-hydrated=true]").waitFor();
  await context.close();
  bytes.total = Object.values(bytes).reduce((a, b) => a + b, 0);
  return bytes;
}

function kindOf(url, type) {
  const path = new URL(url).pathname;
  if (path.endsWith(".wasm")) return "wasm";
  if (path.endsWith(".js")) return "js";
  if (path.endsWith(".css")) return "css";
  return type === "Document" ? "html" : "other";
}

/** The figures of one load, as `reportTimes` reports them: first contentful paint and, for an
 * install page, hydration. */
async function timeLoad(page, url, hydrates) {
  const times = {};
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  const listen = (message) => {
    const [tag, what, at] = message.text().split(" ");
    if (tag !== "tether-bench") return;
    times[what] = Number(at);
    if (times.usable !== undefined && (!hydrates || times.hydrated !== undefined)) done();
  };
  page.on("console", listen);
  try {
    await page.goto(url, { waitUntil: "commit" });
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${url}: no first paint${hydrates ? " or hydration" : ""} within 30 s`)), 30_000);
    });
    await Promise.race([finished, late]).finally(() => clearTimeout(timer));
  } finally {
    page.off("console", listen);
  }
  return [times.usable, times.hydrated ?? NaN];
}

/** A new browser context, as a first visit has: no HTTP cache, no compiled wasm, no code cache. */
async function firstVisit(browser, cookies) {
  const context = await browser.newContext();
  await context.addCookies(cookies);
  const page = await context.newPage();
  await page.addInitScript(reportTimes);
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  return { context, page };
}

/**
 * Median time to usable (first contentful paint: HTML and CSS, the forms work) and to hydrated,
 * for each team's install page and for the blank page (the floor: Tether's static route, HTML
 * only), each load a first visit. The pages load in turn, round after round, so the machine's
 * drift over the minutes this takes weighs on all alike; two warm-up rounds are not counted.
 * Then the warm figure: the install pages reloaded in one context each, as a user who reopens
 * the popup gets them (compiled wasm and code cache kept, HTTP cache disabled).
 */
async function loadTimes(browser, teams) {
  const pages = [{ name: "blank", url: `${TETHER}/pkg/floor.html`, hydrates: false, cookies: [] }];
  for (const team of teams) {
    const { context, page } = await openInstall(browser, team);
    pages.push({ name: team, url: page.url(), hydrates: true, cookies: await context.cookies() });
    await context.close();
  }
  for (const entry of pages) Object.assign(entry, { usable: [], hydrated: [], warmUsable: [], warmHydrated: [] });
  for (let i = 0; i < RUNS + 2; i++) {
    for (const entry of pages) {
      const { context, page } = await firstVisit(browser, entry.cookies);
      const [fcp, done] = await timeLoad(page, entry.url, entry.hydrates);
      await context.close();
      if (i < 2) continue;
      entry.usable.push(fcp);
      entry.hydrated.push(done);
    }
  }
  for (const entry of pages.filter((p) => p.hydrates)) {
    const { context, page } = await firstVisit(browser, entry.cookies);
    for (let i = 0; i < RUNS + 2; i++) {
      const [fcp, done] = await timeLoad(page, entry.url, true);
      if (i < 2) continue;
      entry.warmUsable.push(fcp);
      entry.warmHydrated.push(done);
    }
    await context.close();
  }
  if (process.env.BENCH_DEBUG) {
    const sorted = (xs) => [...xs].sort((a, b) => a - b).map(Math.round);
    for (const p of pages) log(p.name, "usable", sorted(p.usable).join(" "), "hydrated", sorted(p.hydrated).join(" "));
  }
  const [blank, first, second] = pages;
  const figures = (p) => ({
    usable_ms: median(p.usable),
    hydrated_ms: median(p.hydrated),
    warm_usable_ms: median(p.warmUsable),
    warm_hydrated_ms: median(p.warmHydrated),
    // Within each round, against the blank page loaded just before: drift cancels.
    usable_to_blank: median(p.usable.map((ms, i) => ms / blank.usable[i])),
  });
  return {
    blank: { usable_ms: median(blank.usable) },
    small: figures(first),
    big: figures(second),
    // Each round loads the pages back to back: the ratio within a round cancels the drift that
    // medians taken apart keep, which on a busy 2-core VM moves them by ±15 ms.
    hydrated_ratio_paired: median(second.hydrated.map((ms, i) => ms / first.hydrated[i])),
  };
}

/**
 * Connect with every project set to a new resource: ms from the form's submission until the
 * popup's last step (what was connected, before the return to Vercel's `next`) starts to
 * arrive, by the browser's own clocks (Playwright's click, which scrolls
 * and waits for the button to settle, is not part of it).
 */
async function link(browser, team, hydrated) {
  const { context, page } = await openInstall(browser, team, hydrated);
  if (hydrated) {
    await page.locator("form.search[data-hydrated=true]").waitFor();
    // As a user would, open the "more projects" fold; the island then makes its selects.
    await page.locator("li.more summary").click();
    await page.waitForFunction(() => !document.querySelector("li.more noscript"));
    await page.evaluate(() =>
      document.addEventListener("submit", () => (window.__submittedAt = Date.now()), { capture: true }),
    );
  }
  await page.evaluate(() => {
    for (const select of document.querySelectorAll("select[name^='choices[']")) select.value = "new";
  });
  await page.getByRole("button", { name: "Connect" }).click();
  const submittedAt = hydrated ? await page.evaluate(() => window.__submittedAt) : 0;
  await page.waitForURL((u) => u.pathname.endsWith("/done"), { timeout: 120_000 });
  // The plain form's post, its redirect and the last step are one navigation, which began at
  // submission.
  const [origin, responseStart] = await page.evaluate(() => [
    performance.timeOrigin,
    performance.getEntriesByType("navigation")[0].responseStart,
  ]);
  await context.close();
  return hydrated ? origin + responseStart - submittedAt : responseStart;
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const run = Date.now().toString(36);
const small = `team_bench_small_${run}`;
const big = `team_bench_big_${run}`;
await addTeam(small, 3);
await addTeam(big, 250);

log("weighing the install page (3 and 250 projects)");
const weight = { small: await weigh(browser, small), big: await weigh(browser, big) };
log(`timing ${RUNS} first visits each (blank page, 3 and 250 projects), then ${RUNS} warm reloads`);
const times = await loadTimes(browser, [small, big]);

// A team per run: Vercel limits env writes per account per minute, and so does the simulator.
const linking = { projects: LINK_PROJECTS, latency_ms: LATENCY_MS, in_flight: IN_FLIGHT };
linking.bound_ms = (LINK_PROJECTS * LATENCY_MS) / IN_FLIGHT;
for (const [name, hydrated] of [["hydrated_ms", true], ["plain_form_ms", false]]) {
  const team = `team_bench_link_${name.split("_")[0]}_${run}`;
  await addTeam(team, LINK_PROJECTS);
  log(`linking ${LINK_PROJECTS} projects, ${hydrated ? "hydrated popup" : "plain form"}`);
  linking[name] = await link(browser, team, hydrated);
}

// A signed-in install page of the big team, for the load test that follows.
const { context, page } = await openInstall(browser, big);
const cookies = await context.cookies(TETHER);
const load = { url: page.url(), cookie: cookies.map((c) => `${c.name}=${c.value}`).join("; ") };
await context.close();
await browser.close();

console.log(JSON.stringify({ weight, times, linking, load }));
