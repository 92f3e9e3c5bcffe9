//! The popup's pages. Everything here renders on the server; only the islands hydrate.

use leptos::prelude::*;

use crate::{
    islands::{LinkForm, ProjectSearch},
    model::{ErrorView, InstallView, ProjectRow, RowState, CHOICE_EXISTING_PREFIX, CHOICE_NEW, CHOICE_SKIP},
};

/// Which page a response shows; the server picks it after loading what it needs.
#[derive(Debug, Clone)]
pub enum Page {
    Landing { simulator_url: Option<String> },
    Install(InstallView),
    Error(ErrorView),
}

impl Page {
    fn title(&self) -> String {
        match self {
            Page::Landing { .. } => "Tether".into(),
            Page::Install(view) => format!("Connect {} · Tether", view.vendor_name),
            Page::Error(view) => format!("{} · Tether", view.title),
        }
    }
}

pub fn shell(options: LeptosOptions, page: Page) -> impl IntoView {
    let title = page.title();
    let css = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="referrer" content="no-referrer"/>
                <title>{title}</title>
                <link rel="stylesheet" href=css/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HydrationScripts options islands=true/>
            </head>
            <body>
                <header class="bar">
                    <span class="brand">"Tether"</span>
                </header>
                <main class="page">{page_body(page)}</main>
            </body>
        </html>
    }
}

fn page_body(page: Page) -> AnyView {
    match page {
        Page::Landing { simulator_url } => view! { <Landing simulator_url/> }.into_any(),
        Page::Install(view) => view! { <InstallPage view/> }.into_any(),
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
        <section class="error-page" data-status=view.status>
            <h1>{view.title}</h1>
            <p>{view.message}</p>
            <div class="actions">
                {view.actions.into_iter().map(|action| view! {
                    <a class="button" href=action.href>{action.label}</a>
                }).collect_view()}
            </div>
        </section>
    }
}

#[component]
fn InstallPage(view: InstallView) -> impl IntoView {
    let InstallView {
        configuration_id,
        scope_name,
        is_team,
        vendor_name,
        projects,
        total_projects,
        query,
        resources,
        next,
    } = view;
    let shown = projects.len();
    let scope_kind = if is_team { "team" } else { "personal account" };
    let rows = projects.into_iter().map(|row| project_row(row, &resources)).collect_view();
    view! {
        <h1>{format!("Connect {vendor_name} to Vercel")}</h1>
        <p class="scope" data-testid="scope">
            "Installing for " <strong>{scope_name}</strong> {format!(" ({scope_kind})")}
        </p>
        <p class="hint">
            "Pick, for each project, a new " {vendor_name.clone()} " resource, an existing one, or none. "
            "Tether writes the resource's environment variables into the project."
        </p>
        <ProjectSearch query shown total=total_projects/>
        <LinkForm configuration_id=configuration_id.clone()>
            <input type="hidden" name="configuration_id" value=configuration_id/>
            <input type="hidden" name="finish" value="1"/>
            <ul class="projects" aria-label="Vercel projects">{rows}</ul>
        </LinkForm>
        <p class="cancel"><a href=next>"Cancel and return to Vercel"</a></p>
    }
}

fn project_row(row: ProjectRow, resources: &[crate::model::ResourceOption]) -> impl IntoView {
    let ProjectRow { id, name, framework, state, default_choice } = row;
    let select_id = format!("choice-{id}");
    let search_name = name.to_lowercase();
    let row_id = id.clone();
    let status_id = id.clone();
    let control = match &state {
        RowState::Linked { resource_name } => view! {
            <span class="linked">"Linked to " {resource_name.clone()}</span>
        }
        .into_any(),
        RowState::Open | RowState::Failed { .. } => {
            let option = |value: String, label: String| {
                let selected = value == default_choice;
                view! { <option value=value selected=selected>{label}</option> }
            };
            let existing = resources
                .iter()
                .map(|r| option(format!("{CHOICE_EXISTING_PREFIX}{}", r.id), format!("Connect {}", r.name)))
                .collect_view();
            view! {
                <label class="visually-hidden" for=select_id.clone()>{format!("Resource for {name}")}</label>
                <select id=select_id name=format!("choices[{id}]")>
                    {option(CHOICE_SKIP.into(), "Don't connect".into())}
                    {option(CHOICE_NEW.into(), "Create a new resource".into())}
                    {existing}
                </select>
            }
            .into_any()
        }
    };
    let failure = match state {
        RowState::Failed { message } => Some(view! { <p class="failure">{message}</p> }),
        _ => None,
    };
    view! {
        <li class="project" data-name=search_name data-project=row_id>
            <div class="project-name">
                <span>{name}</span>
                {framework.map(|f| view! { <span class="framework">{f}</span> })}
            </div>
            <div class="project-choice">{control}</div>
            {failure}
            <span class="status" data-status-for=status_id role="status"></span>
        </li>
    }
}
