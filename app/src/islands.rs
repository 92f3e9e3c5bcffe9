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

/// Posts the choices. Hydrated, it links each project in its own request, four in flight,
/// showing each one's progress, then sends the popup to Vercel's `next`.
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
            dom::link_all(configuration_id, move || busy.set(false));
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

    use std::{
        cell::{Cell, RefCell},
        collections::{HashMap, VecDeque},
        rc::Rc,
    };

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

    /// Requests in flight at once: the server's own provisioning concurrency, so the hydrated
    /// popup links as fast as the plain form while each project still shows its own progress.
    const IN_FLIGHT: usize = 4;

    /// Links one project; returns (linked, clashed).
    async fn link_one(
        configuration_id: String,
        project: String,
        choice: String,
        answer: Option<String>,
    ) -> (bool, bool) {
        set_status(&project, "Connecting…", "working");
        let choices = HashMap::from([(project.clone(), choice)]);
        let clashes = answer.map(|a| HashMap::from([(project.clone(), a)])).unwrap_or_default();
        match crate::api::link_projects(configuration_id, choices, clashes, None).await {
            Ok(report) => report.outcomes.into_iter().fold((true, false), |(ok, clash), outcome| {
                let state = if outcome.ok { "done" } else { "failed" };
                set_status(&outcome.project_id, &outcome.message, state);
                (ok && outcome.ok, clash || outcome.clash)
            }),
            Err(error) => {
                set_status(&project, &error.to_string(), "failed");
                (false, false)
            }
        }
    }

    /// One Connect press: the picks, and what their outcomes add up to so far.
    struct Run {
        configuration_id: String,
        queue: RefCell<VecDeque<(String, String)>>,
        answers: HashMap<String, String>,
        all_ok: Cell<bool>,
        clashed: Cell<bool>,
        workers_left: Cell<usize>,
    }

    /// Links every chosen project, `IN_FLIGHT` requests at a time, then finishes; `done` runs
    /// when it is over. Plain tasks sharing a queue: a stream combinator would add kilobytes of
    /// wasm for the same effect.
    pub fn link_all(configuration_id: String, done: impl Fn() + 'static) {
        let picks = chosen();
        let answers = clash_answers();
        for (project, _) in &picks {
            set_status(project, "Waiting…", "waiting");
        }
        let workers = IN_FLIGHT.min(picks.len()).max(1);
        let run = Rc::new(Run {
            configuration_id,
            queue: RefCell::new(picks.into()),
            answers,
            all_ok: Cell::new(true),
            clashed: Cell::new(false),
            workers_left: Cell::new(workers),
        });
        let done = Rc::new(done);
        for _ in 0..workers {
            let (run, done) = (run.clone(), done.clone());
            leptos::task::spawn_local(async move {
                loop {
                    let next = run.queue.borrow_mut().pop_front();
                    let Some((project, choice)) = next else { break };
                    let answer = run.answers.get(&project).cloned();
                    let (ok, clash) = link_one(run.configuration_id.clone(), project, choice, answer).await;
                    run.all_ok.set(run.all_ok.get() && ok);
                    run.clashed.set(run.clashed.get() || clash);
                }
                run.workers_left.set(run.workers_left.get() - 1);
                if run.workers_left.get() == 0 {
                    finish(&run).await;
                    done();
                }
            });
        }
    }

    async fn finish(run: &Run) {
        let (all_ok, clashed, configuration_id) = (run.all_ok.get(), run.clashed.get(), run.configuration_id.clone());
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
