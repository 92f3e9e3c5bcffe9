//! The only parts that hydrate. Both enhance markup that already works without JavaScript:
//! the search form filters on the server when submitted, and the link form posts normally.

use leptos::prelude::*;

/// Filters the project list as the user types. Without wasm it is a plain GET form.
#[island]
pub fn ProjectSearch(query: String, shown: usize, total: usize) -> impl IntoView {
    let visible = RwSignal::new(shown);
    // Effects run only in the browser: the attribute tells tests (and CSS) that the island is live.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let on_input = move |_ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        visible.set(dom::filter_projects(&event_target_value(&_ev)));
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        // Hydrated, the list is already filtered as typed: no reload needed.
        ev.prevent_default();
    };
    view! {
        <form class="search" method="get" role="search" on:submit=on_submit
            data-hydrated=move || hydrated.get().to_string()>
            <label for="project-search">"Search projects"</label>
            <div class="search-row">
                <input id="project-search" type="search" name="q" value=query autocomplete="off"
                    placeholder="Project name" on:input=on_input/>
                <button type="submit" class="secondary">"Search"</button>
            </div>
            <p class="count" data-testid="project-count">
                {move || format!("Showing {} of {} projects", visible.get(), total)}
            </p>
        </form>
    }
}

/// Posts the choices. Hydrated, it links one project at a time, showing each one's progress,
/// then sends the popup to Vercel's `next`.
#[island]
pub fn LinkForm(configuration_id: String, children: Children) -> impl IntoView {
    let busy = RwSignal::new(false);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        #[cfg(feature = "hydrate")]
        {
            let configuration_id = configuration_id.clone();
            leptos::task::spawn_local(async move {
                dom::link_one_by_one(configuration_id).await;
                busy.set(false);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &configuration_id;
    };
    let action = <crate::api::LinkProjects as leptos::server_fn::ServerFn>::PATH;
    view! {
        <form class="link-form" method="post" action=action on:submit=on_submit
            aria-busy=move || busy.get().to_string()>
            {children()}
            <div class="form-actions">
                <button type="submit" disabled=move || busy.get()>
                    {move || if busy.get() { "Connecting…" } else { "Connect" }}
                </button>
            </div>
        </form>
    }
}

#[cfg(feature = "hydrate")]
mod dom {
    //! Direct DOM work on the server-rendered list: the rows are not island state, so the
    //! islands read and annotate them in place.

    use std::collections::HashMap;

    use wasm_bindgen::JsCast;
    use web_sys::{Element, HtmlElement, HtmlInputElement, HtmlSelectElement};

    use crate::model::CHOICE_SKIP;

    fn document() -> Option<web_sys::Document> {
        web_sys::window()?.document()
    }

    fn all(selector: &str) -> Vec<Element> {
        let Some(list) = document().and_then(|d| d.query_selector_all(selector).ok()) else {
            return Vec::new();
        };
        (0..list.length()).filter_map(|i| list.item(i)).filter_map(|node| node.dyn_into::<Element>().ok()).collect()
    }

    /// Hides rows whose name does not contain the text; returns how many stay visible.
    pub fn filter_projects(text: &str) -> usize {
        let needle = text.trim().to_lowercase();
        let mut visible = 0;
        for row in all("li.project[data-name]") {
            let matches = row.get_attribute("data-name").is_some_and(|n| n.contains(&needle));
            if let Ok(row) = row.dyn_into::<HtmlElement>() {
                row.set_hidden(!matches);
            }
            visible += usize::from(matches);
        }
        visible
    }

    fn set_status(project_id: &str, text: &str, state: &str) {
        for status in all("[data-status-for]") {
            if status.get_attribute("data-status-for").as_deref() == Some(project_id) {
                status.set_text_content(Some(text));
                let _ = status.set_attribute("data-state", state);
            }
        }
    }

    /// The keep/replace answers to clashes the server reported, by project.
    fn clash_answers() -> HashMap<String, String> {
        all("input[name^='clashes[']:checked")
            .into_iter()
            .filter_map(|el| el.dyn_into::<HtmlInputElement>().ok())
            .filter_map(|input| {
                let project = input.name().strip_prefix("clashes[")?.strip_suffix(']')?.to_owned();
                Some((project, input.value()))
            })
            .collect()
    }

    fn chosen() -> Vec<(String, String)> {
        all("select[name^='choices[']")
            .into_iter()
            .filter_map(|el| el.dyn_into::<HtmlSelectElement>().ok())
            .filter_map(|select| {
                let project = select.name().strip_prefix("choices[")?.strip_suffix(']')?.to_owned();
                let choice = select.value();
                (choice != CHOICE_SKIP).then_some((project, choice))
            })
            .collect()
    }

    pub async fn link_one_by_one(configuration_id: String) {
        let picks = chosen();
        let answers = clash_answers();
        for (project, _) in &picks {
            set_status(project, "Waiting…", "waiting");
        }
        let mut all_ok = true;
        let mut clashed = false;
        for (project, choice) in picks {
            set_status(&project, "Connecting…", "working");
            let choices = HashMap::from([(project.clone(), choice)]);
            let clashes =
                answers.get(&project).map(|a| HashMap::from([(project.clone(), a.clone())])).unwrap_or_default();
            match crate::api::link_projects(configuration_id.clone(), choices, clashes, None).await {
                Ok(report) => {
                    for outcome in report.outcomes {
                        let state = if outcome.ok { "done" } else { "failed" };
                        set_status(&outcome.project_id, &outcome.message, state);
                        all_ok &= outcome.ok;
                        clashed |= outcome.clash;
                    }
                }
                Err(error) => {
                    set_status(&project, &error.to_string(), "failed");
                    all_ok = false;
                }
            }
        }
        if clashed {
            // The keep-or-replace choice is rendered by the server: show the page again with it.
            if let Some(window) = web_sys::window() {
                let _ = window.location().reload();
            }
            return;
        }
        if !all_ok {
            return;
        }
        match crate::api::finish_install(configuration_id).await {
            Ok(next) => {
                if let Some(window) = web_sys::window() {
                    let _ = window.location().set_href(&next);
                }
            }
            Err(error) => {
                if let Some(first) = all("[data-status-for]").first() {
                    first.set_text_content(Some(&error.to_string()));
                }
            }
        }
    }
}
