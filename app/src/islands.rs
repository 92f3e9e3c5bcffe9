//! The only parts that hydrate. Both enhance markup that already works without JavaScript:
//! the search form filters on the server when submitted, and the link form posts normally.
//!
//! Neither takes props: Leptos sends an island's props as JSON, and reading them would put a
//! JSON parser in the wasm. What they need is in the markup they wrap (hidden inputs, data
//! attributes), and they own no reactive state, so hydrating them touches only their own form
//! element, never the project rows inside it.

use leptos::prelude::*;

/// Filters the project list as the user types. Without wasm it is a plain GET form.
#[island]
pub fn ProjectSearch(children: Children) -> impl IntoView {
    let on_input = move |_ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        dom::filter_projects(&event_target_value(&_ev));
    };
    // Hydrated, the list is already filtered as typed: no reload needed.
    let on_submit = move |ev: leptos::ev::SubmitEvent| ev.prevent_default();
    view! {
        <form class="search" method="get" role="search" on:input=on_input on:submit=on_submit
            data-hydrated="false" use:hydrated>
            {children()}
        </form>
    }
}

/// Posts the choices. Hydrated, it links each project in its own request, four in flight,
/// showing each one's progress, then sends the popup to Vercel's `next`.
#[island]
pub fn LinkForm(children: Children) -> impl IntoView {
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        dom::link_all(&ev);
    };
    let action = <crate::api::LinkProjects as leptos::server_fn::ServerFn>::PATH;
    view! {
        <form class="link-form" method="post" action=action on:submit=on_submit
            data-hydrated="false" aria-busy="false" use:hydrated>
            {children()}
            <div class="form-actions">
                <button type="submit">"Connect"</button>
            </div>
        </form>
    }
}

/// Marks an island's form as live once its handlers are attached: tests (and CSS) wait for it.
/// A directive runs only in the browser, when the element hydrates.
fn hydrated(_form: leptos::tachys::renderer::types::Element) {
    #[cfg(feature = "hydrate")]
    let _ = _form.set_attribute("data-hydrated", "true");
}

#[cfg(feature = "hydrate")]
mod dom {
    //! Direct DOM work on the server-rendered list: the rows are not island state, so the
    //! islands read and annotate them in place, and only when the user acts.

    use std::{
        cell::{Cell, RefCell},
        collections::VecDeque,
        rc::Rc,
    };

    use js_sys::{Array, Reflect, JSON};
    use wasm_bindgen::{JsCast, JsValue};
    use web_sys::{Element, HtmlButtonElement, HtmlElement, HtmlFormElement, HtmlInputElement, HtmlSelectElement};

    use crate::{
        model::{CHOICE_SKIP, FORM_TOKEN_FIELD},
        AppError,
    };

    fn all(root: &Element, selector: &str) -> Vec<Element> {
        let Ok(list) = root.query_selector_all(selector) else {
            return Vec::new();
        };
        (0..list.length()).filter_map(|i| list.item(i)).filter_map(|node| node.dyn_into::<Element>().ok()).collect()
    }

    fn document_element() -> Option<Element> {
        web_sys::window()?.document()?.document_element()
    }

    /// Hides rows whose name does not contain the text, and says how many stay.
    pub fn filter_projects(text: &str) {
        let Some(root) = document_element() else { return };
        // The server lowercases `data-name` the same way; the browser's lowercasing keeps the
        // Unicode tables out of the wasm.
        let needle = String::from(js_sys::JsString::from(text.trim()).to_lower_case());
        let mut visible = 0;
        for row in all(&root, "li.project[data-name]") {
            let matches = row.get_attribute("data-name").is_some_and(|n| n.contains(&needle));
            if let Ok(row) = row.dyn_into::<HtmlElement>() {
                row.set_hidden(!matches);
            }
            visible += usize::from(matches);
        }
        if let Some(count) = all(&root, "[data-testid=project-count]").first() {
            let total = count.get_attribute("data-total").unwrap_or_default();
            count.set_text_content(Some(&format!("Showing {visible} of {total} projects")));
        }
    }

    fn set_status(form: &Element, project_id: &str, text: &str, state: &str) {
        for status in all(form, "[data-status-for]") {
            if status.get_attribute("data-status-for").as_deref() == Some(project_id) {
                status.set_text_content(Some(text));
                let _ = status.set_attribute("data-state", state);
            }
        }
    }

    /// `choices[p]` or `clashes[p]` → `p`.
    fn project_of<'a>(name: &'a str, field: &str) -> Option<&'a str> {
        name.strip_prefix(field)?.strip_prefix('[')?.strip_suffix(']')
    }

    fn input_value(form: &Element, name: &str) -> String {
        all(form, &format!("input[name='{name}']"))
            .into_iter()
            .find_map(|el| el.dyn_into::<HtmlInputElement>().ok())
            .map(|input| input.value())
            .unwrap_or_default()
    }

    /// The form's picks as one form post per project, each with the fields every post carries.
    fn requests(form: &Element) -> Vec<(String, String)> {
        let common = [
            ("configuration_id", input_value(form, "configuration_id")),
            (FORM_TOKEN_FIELD, input_value(form, FORM_TOKEN_FIELD)),
        ];
        let answers: Vec<(String, String)> = all(form, "input[name^='clashes[']:checked")
            .into_iter()
            .filter_map(|el| el.dyn_into::<HtmlInputElement>().ok())
            .filter_map(|input| Some((project_of(&input.name(), "clashes")?.to_owned(), input.value())))
            .collect();
        all(form, "select[name^='choices[']")
            .into_iter()
            .filter_map(|el| el.dyn_into::<HtmlSelectElement>().ok())
            .filter_map(|select| {
                let project = project_of(&select.name(), "choices")?.to_owned();
                let choice = select.value();
                if choice == CHOICE_SKIP {
                    return None;
                }
                let Ok(body) = web_sys::UrlSearchParams::new() else { return None };
                for (key, value) in &common {
                    body.append(key, value);
                }
                body.append(&format!("choices[{project}]"), &choice);
                if let Some((_, answer)) = answers.iter().find(|(p, _)| *p == project) {
                    body.append(&format!("clashes[{project}]"), answer);
                }
                Some((project, String::from(body.to_string())))
            })
            .collect()
    }

    /// A server function's answer, read with the browser's own JSON parser: a `LinkReport` when
    /// `ok`, otherwise an `AppError`, whose message the page shows.
    async fn post(path: &str, body: String) -> Result<JsValue, String> {
        let failed = |_| AppError::Internal.to_string();
        let response = gloo_net::http::Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body)
            .map_err(failed)?
            .send()
            .await
            .map_err(failed)?;
        let text = response.text().await.map_err(failed)?;
        let value = JSON::parse(&text).map_err(|_| AppError::Internal.to_string())?;
        if response.ok() {
            Ok(value)
        } else {
            Err(app_error(&value).to_string())
        }
    }

    fn field(value: &JsValue, key: &str) -> JsValue {
        Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }

    fn text(value: &JsValue) -> String {
        value.as_string().unwrap_or_default()
    }

    /// Rebuilds the error from serde's JSON for it (`"NotYours"`, `{"Vercel":"…"}`), so the
    /// browser shows the same words as the server-rendered page.
    fn app_error(value: &JsValue) -> AppError {
        let unit = value.as_string();
        let (kind, inner) = match unit {
            Some(kind) => (kind, JsValue::UNDEFINED),
            None => {
                let keys = js_sys::Object::keys(value.unchecked_ref::<js_sys::Object>());
                let kind = text(&keys.get(0));
                let inner = field(value, &kind);
                (kind, inner)
            }
        };
        match kind.as_str() {
            "NotYours" => AppError::NotYours,
            "BadRequest" => AppError::BadRequest(text(&inner)),
            "Vercel" => AppError::Vercel(text(&inner)),
            "Clash" => AppError::Clash(text(&inner)),
            "Busy" => AppError::Busy { message: text(&field(&inner, "message")), retry_after_secs: 0 },
            "Vendor" => AppError::Vendor(text(&inner)),
            "VendorUnavailable" => AppError::VendorUnavailable(text(&inner)),
            _ => AppError::Internal,
        }
    }

    /// Links one project; returns (linked, clashed).
    async fn link_one(form: &Element, path: &str, project: String, body: String) -> (bool, bool) {
        set_status(form, &project, "Connecting…", "working");
        match post(path, body).await {
            Ok(report) => {
                Array::from(&field(&report, "outcomes")).iter().fold((true, false), |(ok, clash), outcome| {
                    let linked = field(&outcome, "ok").is_truthy();
                    let state = if linked { "done" } else { "failed" };
                    set_status(form, &text(&field(&outcome, "project_id")), &text(&field(&outcome, "message")), state);
                    (ok && linked, clash || field(&outcome, "clash").is_truthy())
                })
            }
            Err(message) => {
                set_status(form, &project, &message, "failed");
                (false, false)
            }
        }
    }

    /// Requests in flight at once: the server's own provisioning concurrency, so the hydrated
    /// popup links as fast as the plain form while each project still shows its own progress.
    const IN_FLIGHT: usize = 4;

    /// One Connect press: the form, its picks, and what their outcomes add up to so far.
    struct Run {
        form: HtmlFormElement,
        queue: RefCell<VecDeque<(String, String)>>,
        all_ok: Cell<bool>,
        clashed: Cell<bool>,
        workers_left: Cell<usize>,
    }

    impl Run {
        fn busy(&self, busy: bool) {
            let _ = self.form.set_attribute("aria-busy", if busy { "true" } else { "false" });
            if let Some(button) = all(&self.form, "button[type=submit]")
                .into_iter()
                .find_map(|el| el.dyn_into::<HtmlButtonElement>().ok())
            {
                button.set_disabled(busy);
                button.set_text_content(Some(if busy { "Connecting…" } else { "Connect" }));
            }
        }
    }

    /// Links every chosen project, `IN_FLIGHT` requests at a time, then finishes. Plain tasks
    /// sharing a queue: a stream combinator would add kilobytes of wasm for the same effect.
    pub fn link_all(ev: &web_sys::SubmitEvent) {
        let Some(form) = ev.target().and_then(|t| t.dyn_into::<HtmlFormElement>().ok()) else { return };
        if form.get_attribute("aria-busy").as_deref() == Some("true") {
            return;
        }
        let picks = requests(&form);
        for (project, _) in &picks {
            set_status(&form, project, "Waiting…", "waiting");
        }
        let workers = IN_FLIGHT.min(picks.len()).max(1);
        let run = Rc::new(Run {
            form,
            queue: RefCell::new(picks.into()),
            all_ok: Cell::new(true),
            clashed: Cell::new(false),
            workers_left: Cell::new(workers),
        });
        run.busy(true);
        for _ in 0..workers {
            let run = run.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let path = run.form.action();
                loop {
                    let next = run.queue.borrow_mut().pop_front();
                    let Some((project, body)) = next else { break };
                    let (ok, clash) = link_one(&run.form, &path, project, body).await;
                    run.all_ok.set(run.all_ok.get() && ok);
                    run.clashed.set(run.clashed.get() || clash);
                }
                run.workers_left.set(run.workers_left.get() - 1);
                if run.workers_left.get() == 0 {
                    finish(&run).await;
                    run.busy(false);
                }
            });
        }
    }

    async fn finish(run: &Run) {
        let Some(window) = web_sys::window() else { return };
        if run.clashed.get() {
            // The keep-or-replace choice is rendered by the server: show the page again with it.
            let _ = window.location().reload();
            return;
        }
        if !run.all_ok.get() {
            return;
        }
        let body = web_sys::UrlSearchParams::new().ok().map(|body| {
            body.append("configuration_id", &input_value(&run.form, "configuration_id"));
            body.append(FORM_TOKEN_FIELD, &input_value(&run.form, FORM_TOKEN_FIELD));
            String::from(body.to_string())
        });
        let path = <crate::api::FinishInstall as leptos::server_fn::ServerFn>::PATH;
        match post(path, body.unwrap_or_default()).await {
            Ok(next) => {
                let _ = window.location().set_href(&text(&next));
            }
            Err(message) => {
                if let Some(first) = all(&run.form, "[data-status-for]").first() {
                    first.set_text_content(Some(&message));
                }
            }
        }
    }
}
