//! The popup's pages. Everything here renders on the server; only the islands hydrate.

use leptos::prelude::*;

use crate::{
    api::{LinkProjects, RotateCredentials, Uninstall, UnlinkProject},
    islands::ProjectPicker,
    model::{
        ConfigureView, DoneView, ErrorView, InstallView, LinkView, NativeResourceView, NativeView, ResourceView,
        FORM_TOKEN_FIELD,
    },
};

/// Which page a response shows; the server picks it after loading what it needs.
#[derive(Debug, Clone)]
pub enum Page {
    Landing { simulator_url: Option<String> },
    Install(InstallView),
    Configure(ConfigureView),
    Done(DoneView),
    Native(NativeView),
    Error(ErrorView),
}

impl Page {
    fn title(&self) -> String {
        match self {
            Page::Landing { .. } => "Tether".into(),
            Page::Install(view) => format!("Connect {} · Tether", view.vendor_name),
            Page::Configure(view) => format!("{} · Configure · Tether", view.scope_name),
            Page::Done(view) => format!("Connected {} · Tether", view.vendor_name),
            Page::Native(view) => format!("{} · {} · Tether", view.team_name, view.vendor_name),
            Page::Error(view) => format!("{} · Tether", view.title),
        }
    }
}

/// The document around a page. `stylesheet` is the site's CSS to send inside the page (the
/// server read it at start); without it the page links to the file.
pub fn shell(options: LeptosOptions, page: Page, stylesheet: Option<std::sync::Arc<str>>) -> impl IntoView {
    // As HydrationScripts does: in islands mode the server renders as not hydrating.
    if let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
    let title = page.title();
    // Inside the page, the first paint of a first visit waits for no second request.
    let style = match stylesheet {
        Some(css) => view! { <style nonce=use_nonce() inner_html=css></style> }.into_any(),
        None => view! { <link rel="stylesheet" href=format!("/{}", stylesheet_path(&options))/> }.into_any(),
    };
    // Found by the browser's preload scanner at once, so the module and the wasm download while
    // the page is parsed; only the install page has an island to hydrate.
    let preloads = matches!(page, Page::Install(_)).then(|| {
        let (module, wasm) = island_assets(&options);
        view! {
            <link rel="modulepreload" href=module/>
            <link rel="preload" href=wasm r#as="fetch" r#type="application/wasm" crossorigin=""/>
        }
    });
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="referrer" content="no-referrer"/>
                <title>{title}</title>
                {style}
                <link rel="icon" href=FAVICON/>
                {preloads}
            </head>
            <body>
                <header class="bar">
                    <span class="brand">"Tether"</span>
                </header>
                <main class="page">{page_body(page, options)}</main>
            </body>
        </html>
    }
}

/// The site's stylesheet, relative to the site's root: where cargo-leptos writes it, where the
/// server reads it at start to send it inside pages, and what a page links to otherwise.
pub fn stylesheet_path(options: &LeptosOptions) -> String {
    format!("{}.css", site_output(options))
}

/// Where cargo-leptos writes the site's outputs, relative to the site's root, without the
/// extension: the stylesheet, the module and the wasm are all named after it.
fn site_output(options: &LeptosOptions) -> String {
    format!("{}/{}", options.site_pkg_dir, options.output_name)
}

/// The site's icon (public/favicon.svg) drawn as a 32×32 three-colour PNG of 158 bytes, inline:
/// a separate request would cost more in headers than the icon weighs, and an SVG icon costs the
/// page's main thread a whole SVG document (5 to 9 ms in Chromium's traces) before hydration.
const FAVICON: &str = "data:image/png;base64,\
    iVBORw0KGgoAAAANSUhEUgAAACAAAAAgAgMAAAAOFJJnAAAACVBMVEUAAAARERH////+cpAkAAAAAXRSTlMAQObYZgAAAENJREFUeNpj\
    YAgFAwYGRgjDgYEVwghgEIUwQqBKgIrwMlYBAYgRBmJMRWbApUJDo5aG0o0RNpWAm+EehHsZHgiwYAEAdQhbvp5WCTsAAAAASUVORK5CYII=";

/// Loads the wasm and hydrates each island, instead of Leptos's `HydrationScripts`: that one
/// waits for the browser to be idle, then walks every element of the body with an `await` per
/// element, so hydrating the 250-project page cost more than the 3-project one. Tether's islands
/// are never nested, so finding them is one query, whatever the page holds.
///
/// It goes right after the last island, `async`: the script starts when the parser reaches it,
/// so every island is already there. Chromium still runs it only once the document is parsed
/// and first painted (its traces show it), which is why the project list folds most of its
/// rows away (see the server's `html::rows`).
#[component]
fn IslandLoader(options: LeptosOptions) -> impl IntoView {
    let (module, wasm) = island_assets(&options);
    let script = format!(
        "import * as m from \"{module}\";await m.default({{module_or_path:\"{wasm}\"}});m.hydrate();\
         for(const e of document.querySelectorAll(\"leptos-island\"))m[e.dataset.component]?.(e);"
    );
    let nonce = use_nonce();
    view! { <script type="module" async=true nonce=nonce>{script}</script> }
}

/// The wasm-bindgen module's path and the wasm's.
fn island_assets(options: &LeptosOptions) -> (String, String) {
    let pkg = format!("/{}", site_output(options));
    // cargo-leptos names the wasm after the site; a plain cargo build keeps wasm-bindgen's name.
    let wasm =
        if option_env!("LEPTOS_OUTPUT_NAME").is_some() { format!("{pkg}.wasm") } else { format!("{pkg}_bg.wasm") };
    (format!("{pkg}.js"), wasm)
}

fn page_body(page: Page, options: LeptosOptions) -> AnyView {
    match page {
        Page::Landing { simulator_url } => view! { <Landing simulator_url/> }.into_any(),
        // Only the install page has an island, so only it loads the wasm.
        Page::Install(view) => view! { <InstallPage view options/> }.into_any(),
        Page::Configure(view) => view! { <ConfigurePage view/> }.into_any(),
        Page::Done(view) => view! { <DonePage view/> }.into_any(),
        Page::Native(view) => view! { <NativePage view/> }.into_any(),
        Page::Error(view) => view! { <ErrorPage view/> }.into_any(),
    }
}

#[component]
fn Landing(simulator_url: Option<String>) -> impl IntoView {
    view! {
        <h1>"Tether"</h1>
        <p>
            "This server is the Redirect URL of a Vercel integration. Vercel opens it in a popup "
            "when someone installs the integration."
        </p>
        <p><a class="button" href="/install/start">"Install with Vercel"</a></p>
        {simulator_url.map(|url| view! {
            <p class="note">
                "Sandbox mode: no Vercel account is needed. "
                <a href=url>"Open the Vercel simulator"</a>
                " and press Install."
            </p>
        })}
    }
}

#[component]
fn ErrorPage(view: ErrorView) -> impl IntoView {
    view! {
        <section class="error-page" data-status=view.status data-failure=view.kind>
            <h1>{view.title}</h1>
            <p>{view.message}</p>
            <p class="advice">{view.advice}</p>
            <div class="actions">
                {view.actions.into_iter().map(|action| view! {
                    <a class="button" href=action.href>{action.label}</a>
                }).collect_view()}
            </div>
        </section>
    }
}

/// How long the last step shows before the popup returns to Vercel on its own.
pub const RETURN_DELAY_SECS: u32 = 5;

/// The popup's last step. It says what was connected and which variables went where, then
/// returns to Vercel after a short pause, which the user can stop. The countdown is a few
/// lines of script with the page's nonce, not the wasm: this page has nothing else to run.
/// Without scripts the page waits for the button.
#[component]
fn DonePage(view: DoneView) -> impl IntoView {
    let DoneView { vendor_name, scope_name, links, next } = view;
    let connected = links.iter().filter(|l| l.failed.is_none()).count();
    let heading = match connected {
        0 => "Nothing was connected".to_owned(),
        1 => format!("{vendor_name} is connected to 1 project"),
        n => format!("{vendor_name} is connected to {n} projects"),
    };
    let rows = links
        .into_iter()
        .map(|link| {
            let keys = if link.env_keys.is_empty() { "No variables".to_owned() } else { link.env_keys.join(", ") };
            let LinkView { project_name, resource_name, failed, .. } = link;
            let data_project = project_name.clone();
            view! {
                <li class="link" data-project=data_project>
                    <div>
                        <strong>{project_name}</strong> " → " {resource_name}
                        <div class="keys">{keys}</div>
                        {failed.map(|message| view! { <p class="failure">{message}</p> })}
                    </div>
                </li>
            }
        })
        .collect_view();
    let script = format!(
        "const r=document.getElementById(\"return\"),c=document.getElementById(\"countdown\"),l=c.parentElement,\
         s=document.getElementById(\"stay\");let n={RETURN_DELAY_SECS};l.hidden=s.hidden=false;\
         const t=setInterval(()=>{{if(--n<1){{clearInterval(t);location.href=r.href}}else c.textContent=n}},1000);\
         s.onclick=()=>{{clearInterval(t);l.textContent=\"Return to Vercel whenever you are ready.\";s.hidden=true;r.focus()}};"
    );
    let nonce = use_nonce();
    view! {
        <h1 data-testid="done">{heading}</h1>
        <p class="scope">"Installed for " <strong>{scope_name}</strong></p>
        <section aria-labelledby="connected-heading">
            <h2 id="connected-heading">"What was written to Vercel"</h2>
            <ul class="links">{rows}</ul>
            <p class="note">"You can change this at any time from the integration's Configure page at Vercel."</p>
        </section>
        <p class="countdown" hidden=true>
            "Returning to Vercel in " <span id="countdown">{RETURN_DELAY_SECS}</span> " s."
        </p>
        <div class="actions">
            <a class="button" id="return" href=next>"Return to Vercel"</a>
            <button type="button" class="secondary" id="stay" hidden=true>"Stay on this page"</button>
        </div>
        <script nonce=nonce>{script}</script>
    }
}

#[component]
fn InstallPage(view: InstallView, options: LeptosOptions) -> impl IntoView {
    let InstallView {
        configuration_id,
        scope_name,
        scope_note,
        is_team,
        vendor_name,
        sign_in,
        rows,
        shown,
        total_projects,
        query,
        summary,
        access_note,
        fixed,
        next,
        form_token,
    } = view;
    let scope_kind = if is_team { "team" } else { "personal account" };
    let heading = view! {
        <h1>{format!("Connect {vendor_name} to Vercel")}</h1>
        <p class="scope" data-testid="scope">
            "Installing for " <strong>{scope_name}</strong> {format!(" ({scope_kind})")}
        </p>
        {scope_note.map(|text| view! { <p class="note" data-testid="scope-note">{text}</p> })}
        {access_note.map(|text| view! { <p class="note" data-testid="project-access">{text}</p> })}
    };
    if let Some(href) = sign_in {
        return view! {
            {heading}
            <section class="account-link" data-testid="account-link">
                <p>
                    {format!("First, sign in to {vendor_name}: your projects will use that account's resources.")}
                </p>
                <a class="button" href=href>{format!("Sign in to {vendor_name}")}</a>
            </section>
            <p class="cancel"><a href=next>"Cancel and return to Vercel"</a></p>
        }
        .into_any();
    }
    view! {
        {heading}
        <p class="hint">
            "Pick, for each project, a new " {vendor_name.clone()} " resource, an existing one, or none. "
            "Tether writes the resource's environment variables into the project."
        </p>
        // The island is an empty element after the search form: it hydrates nothing of the page
        // (the forms and the list are plain markup it reads and annotates in place), so the
        // wasm carries no code to walk them.
        {search_form(fixed, query, shown, total_projects)}
        <ProjectPicker/>
        <IslandLoader options/>
        <p class="refresh">
            <a href=format!("/install/{configuration_id}?refresh=1")>"Missing a project? Refresh the list"</a>
        </p>
        <form class="link-form" method="post" action={action_path::<LinkProjects>()} aria-busy="false">
            <FormFields configuration_id=configuration_id.clone() form_token=form_token/>
            <input type="hidden" name="finish" value="1"/>
            <ul class="projects" aria-label="Vercel projects" inner_html=rows></ul>
            <div class="form-actions">
                <p class="summary" role="status" data-testid="summary">{summary}</p>
                <button type="submit">"Connect"</button>
            </div>
        </form>
        <p class="cancel"><a href=next>"Cancel and return to Vercel"</a></p>
    }
    .into_any()
}

/// The search over the project list; hidden when there is nothing to choose between.
fn search_form(fixed: bool, query: String, shown: usize, total_projects: usize) -> impl IntoView {
    view! {
        <form class="search" method="get" role="search" data-hydrated="false" hidden=fixed>
            <label for="project-search">"Search projects"</label>
            <div class="search-row">
                <input id="project-search" type="search" name="q" value=query autocomplete="off"
                    placeholder="Project name"/>
                <button type="submit" class="secondary">"Search"</button>
            </div>
            <p class="count" data-testid="project-count" data-total=total_projects>
                {format!("Showing {shown} of {total_projects} projects")}
            </p>
            // Shown once the island runs: they change the choices in the browser.
            <div class="bulk" hidden=true>
                <button type="button" class="secondary" data-select="new">"Select all shown"</button>
                <button type="button" class="secondary" data-select="skip">"Select none"</button>
            </div>
        </form>
    }
}

/// Where the server splices the project rows, which it renders, compresses and caches apart
/// from the page (see the server's `html::rows`).
pub const ROWS_SLOT: &str = "<!--tether-rows-->";

/// What every form of an installation carries: its id, and the token that proves the post came
/// from this page.
#[component]
fn FormFields(configuration_id: String, form_token: String) -> impl IntoView {
    view! {
        <input type="hidden" name="configuration_id" value=configuration_id/>
        <input type="hidden" name=FORM_TOKEN_FIELD value=form_token/>
    }
}

fn action_path<T: leptos::server_fn::ServerFn>() -> &'static str {
    T::PATH
}

#[component]
fn ConfigurePage(view: ConfigureView) -> impl IntoView {
    let ConfigureView {
        configuration_id,
        scope_name,
        scope_note,
        is_team,
        vendor_name,
        links,
        resources,
        new_projects,
        notice,
        form_token,
    } = view;
    let new_projects = (!new_projects.is_empty()).then(|| {
        view! {
            <p class="note" data-testid="new-projects">
                {format!("New on Vercel since the install: {}", new_projects.join(", "))}
            </p>
        }
    });
    let scope_kind = if is_team { "team" } else { "personal account" };
    let link_count = links.len();
    let links = links.into_iter().map(|link| linked_project(&configuration_id, &form_token, link)).collect_view();
    let resources = resources.into_iter().map(|r| resource_row(&configuration_id, &form_token, r)).collect_view();
    view! {
        <h1>{format!("{vendor_name} on Vercel")}</h1>
        <p class="scope" data-testid="scope">
            "Installed for " <strong>{scope_name}</strong> {format!(" ({scope_kind})")}
        </p>
        {scope_note.map(|text| view! { <p class="note" data-testid="scope-note">{text}</p> })}
        {notice.map(|text| view! { <p class="notice" role="status" data-testid="notice">{text}</p> })}
        <section aria-labelledby="linked-heading">
            <h2 id="linked-heading">{format!("Connected projects ({link_count})")}</h2>
            <ul class="links">{links}</ul>
            {new_projects}
            <p><a class="button secondary" href=format!("/install/{configuration_id}")>"Connect more projects"</a></p>
        </section>
        <section aria-labelledby="resources-heading">
            <h2 id="resources-heading">"Resources"</h2>
            <ul class="links">{resources}</ul>
        </section>
        <section aria-labelledby="uninstall-heading" class="danger">
            <h2 id="uninstall-heading">"Uninstall"</h2>
            <form method="post" action={action_path::<Uninstall>()}>
                <FormFields configuration_id=configuration_id.clone() form_token=form_token.clone()/>
                <label class="confirm">
                    <input type="checkbox" name="confirm" value="yes" required=true/>
                    " Remove the integration from Vercel, with the variables it created"
                </label>
                <button type="submit" class="danger">"Uninstall"</button>
            </form>
        </section>
    }
}

#[component]
fn NativePage(view: NativeView) -> impl IntoView {
    let NativeView { configuration_id, vendor_name, team_name, read_only, resources, notice, back_url, form_token } =
        view;
    let role = if read_only {
        "You are signed in from Vercel with a read-only role in this team: you can look, not change."
    } else {
        "You are signed in from Vercel as an admin of this team."
    };
    let count = resources.len();
    let empty = (count == 0).then(|| {
        view! { <p class="note" data-testid="no-resources">"No resources yet: create one from Vercel's Storage tab."</p> }
    });
    let actions = (!read_only).then_some((configuration_id, form_token));
    let resources = resources.into_iter().map(|r| native_resource(r, actions.clone())).collect_view();
    view! {
        <h1>{format!("{vendor_name} on Vercel")}</h1>
        <p class="scope" data-testid="scope">"Installed for " <strong>{team_name}</strong></p>
        <p class="note" data-testid="role" data-read-only=read_only.to_string()>{role}</p>
        {notice.map(|text| view! { <p class="notice" role="status" data-testid="notice">{text}</p> })}
        <section aria-labelledby="resources-heading">
            <h2 id="resources-heading">{format!("Resources ({count})")}</h2>
            {empty}
            <ul class="links">{resources}</ul>
        </section>
        <p><a class="button secondary" href=back_url>"Return to Vercel"</a></p>
    }
}

/// A resource's line; with `actions` (an admin's installation id and form token), its Rotate and
/// its Delete.
fn native_resource(resource: NativeResourceView, actions: Option<(String, String)>) -> impl IntoView {
    let NativeResourceView { id, name, product, plan, status, projects, focused } = resource;
    let rotate = actions.map(|(configuration_id, form_token)| {
        let path = format!("/native/{configuration_id}/resources/{id}");
        view! {
            <div class="actions">
                <form method="post" action=format!("{path}/rotate")>
                    <input type="hidden" name=FORM_TOKEN_FIELD value=form_token.clone()/>
                    <button type="submit" class="secondary" aria-label=format!("Rotate the secrets of {name}")>
                        "Rotate secrets"
                    </button>
                </form>
                <form method="post" action=format!("{path}/delete")>
                    <input type="hidden" name=FORM_TOKEN_FIELD value=form_token/>
                    <label class="confirm">
                        <input type="checkbox" name="confirm" value="yes" required=true
                            aria-label=format!("Confirm deleting {name}")/>
                        " Delete, with its secrets in every project"
                    </label>
                    <button type="submit" class="danger" aria-label=format!("Delete {name}")>"Delete"</button>
                </form>
            </div>
        }
        // Erased: the page's nested view type otherwise exceeds the compiler's query depth in the
        // hydrate build.
        .into_any()
    });
    let connected = match projects.is_empty() {
        true => "Not connected to a project yet.".to_owned(),
        false => format!("Connected to {}", projects.join(", ")),
    };
    view! {
        <li class="link" id=id.clone() data-resource=id data-focused=focused.to_string() aria-current=focused.then_some("true")>
            <div>
                <strong>{name}</strong>
                <div class="keys">{format!("{product} · plan {plan} · {status}")}</div>
                <div class="keys" data-testid="connected">{connected}</div>
            </div>
            {rotate}
        </li>
    }
}

fn linked_project(configuration_id: &str, form_token: &str, link: LinkView) -> impl IntoView {
    let LinkView { project_id, project_name, resource_name, env_keys, env_count, last_deployment, failed } = link;
    view! {
        <li class="link" data-project=project_name.clone()>
            <div>
                <strong>{project_name.clone()}</strong>
                " → " {resource_name}
                <div class="keys">{env_keys.join(", ")}</div>
                {last_deployment
                    .map(|d| view! { <div class="keys" data-testid="deployment">{format!("Last deployment: {d}")}</div> })}
                {failed.map(|message| view! { <p class="failure">{message}</p> })}
            </div>
            <form method="post" action={action_path::<UnlinkProject>()}>
                <FormFields configuration_id=configuration_id.to_owned() form_token=form_token.to_owned()/>
                <input type="hidden" name="project_id" value=project_id/>
                <button type="submit" class="secondary" aria-label=format!("Disconnect {project_name}")>
                    {format!("Disconnect ({env_count} variables)")}
                </button>
            </form>
        </li>
    }
}

fn resource_row(configuration_id: &str, form_token: &str, resource: ResourceView) -> impl IntoView {
    let ResourceView { id, name, url, linked_projects, rotating } = resource;
    let pending = rotating.then(|| {
        view! {
            <p class="failure" data-testid="rotation-pending">
                "A rotation did not finish: some projects still have the old credentials, and both keep working \
                 until every project has the new ones."
            </p>
        }
    });
    view! {
        <li class="link" data-resource=name.clone()>
            <div>
                <strong>{name.clone()}</strong>
                <div class="keys">{url}</div>
                <div class="keys">{format!("used by {linked_projects} project(s) here")}</div>
                {pending}
            </div>
            <form method="post" action={action_path::<RotateCredentials>()}>
                <FormFields configuration_id=configuration_id.to_owned() form_token=form_token.to_owned()/>
                <input type="hidden" name="resource_id" value=id/>
                <button type="submit" class="secondary" aria-label=format!("Rotate credentials of {name}")>
                    {if rotating { "Finish rotation" } else { "Rotate credentials" }}
                </button>
            </form>
        </li>
    }
}
