// Page objects: the simulator's dashboard (playing Vercel) and Tether's install popup.
import { expect, type Page, type Locator } from "@playwright/test";

export const TETHER_URL = "http://127.0.0.1:3400";

export class Dashboard {
  constructor(readonly page: Page) {}

  async open() {
    await this.page.goto("/");
  }

  /** Presses Install for an account; Vercel opens the Redirect URL in a popup window. */
  async install(accountName: string): Promise<Popup> {
    return this.openPopup(`Install for ${accountName}`);
  }

  /** A Deploy Button: a new project in the account, then the popup with it preselected. */
  async deploy(accountName: string): Promise<Popup> {
    return this.openPopup(`Deploy a template for ${accountName}`);
  }

  /**
   * Vercel's install dialog with its "choose projects" step: all of the account's projects, or
   * only the named ones. The popup then opens Tether's Redirect URL.
   */
  async installFor(accountName: string, projects: "all" | string[]): Promise<Popup> {
    const popupOpened = this.page.waitForEvent("popup");
    await this.page.getByRole("button", { name: `Install for some projects of ${accountName}` }).click();
    const popup = await popupOpened;
    if (projects === "all") {
      await popup.getByLabel("All projects").check();
    } else {
      await popup.getByLabel("Specific projects").check();
      for (const name of projects) await popup.getByLabel(name, { exact: true }).check();
    }
    await popup.getByRole("button", { name: "Install" }).click();
    await expect(popup.getByTestId("scope")).toBeVisible();
    return new Popup(popup);
  }

  private async openPopup(buttonName: string): Promise<Popup> {
    const popupOpened = this.page.waitForEvent("popup");
    await this.page.getByRole("button", { name: buttonName }).click();
    const popup = await popupOpened;
    await popup.waitForLoadState("domcontentloaded");
    return new Popup(popup);
  }

  envRows(projectName: string): Locator {
    return this.page.locator(`#env tr[data-project="${projectName}"]`);
  }

  latestInstallationState(): Locator {
    return this.page.locator("#installations tr").last().getByTestId("popup-state");
  }
}

export class Popup {
  readonly errors: string[] = [];

  constructor(readonly page: Page) {
    page.on("console", (msg) => {
      if (msg.type() === "error" || msg.text().includes("Could not find WASM function")) this.errors.push(msg.text());
    });
    page.on("pageerror", (error) => this.errors.push(error.message));
  }

  scope(): Locator {
    return this.page.getByTestId("scope");
  }

  count(): Locator {
    return this.page.getByTestId("project-count");
  }

  async waitUntilHydrated() {
    // One island, around the search form; its listeners on the document serve the link form too.
    // Attached, not visible: with a single project there is nothing to search, and the form is hidden.
    await expect(this.page.locator("form.search[data-hydrated=true]")).toBeAttached();
  }

  async search(text: string) {
    await this.page.getByLabel("Search projects").fill(text);
  }

  visibleProjects(): Locator {
    return this.page.locator("li.project:visible");
  }

  async choose(projectName: string, option: string) {
    await this.page.getByLabel(`Resource for ${projectName}`).selectOption({ label: option });
  }

  /**
   * The first marketplace install comes with the most recently updated project chosen (Vercel's
   * approval checklist asks for it). A spec about other choices first leaves it out, as a user
   * would: otherwise every spec would connect that same project.
   */
  async leaveOutSuggested() {
    const suggested = this.page.locator("li.project.recent select");
    if ((await suggested.count()) > 0) await suggested.selectOption("skip");
  }

  async connect() {
    await this.page.getByRole("button", { name: "Connect" }).click();
  }

  /**
   * Connect, see the last step say what was connected, then see the popup reach Vercel's `next`
   * and close, as Vercel's popup does: on its own after the pause (`wait`), or at once through
   * "Return to Vercel".
   */
  async connectAndReturnToVercel(how: "wait" | "press" = "press") {
    const closed = this.page.waitForEvent("close");
    await this.connect();
    await expect(this.page.getByTestId("done")).toBeVisible();
    if (how === "press") await this.page.getByRole("link", { name: "Return to Vercel" }).click();
    await expect(this.page.getByTestId("installed")).toBeVisible({ timeout: 10_000 });
    await closed;
  }

  summary(): Locator {
    return this.page.getByTestId("summary");
  }
}
