//! The only part that hydrates: the project picker, an empty island after the search form. The
//! search form filters on the server when submitted, and the link form below it posts normally;
//! both work without JavaScript.
//!
//! The island takes no props (Leptos would send them as JSON, and reading them would put a JSON
//! parser in the wasm), has no children (hydrating them would put code for each element in the
//! wasm) and owns no reactive state: what it needs is in the markup (hidden inputs, data
//! attributes). Hydrating it attaches listeners to the document (input, change, click and
//! submit bubble up from both forms; the fold's toggle is caught on its way down) and touches
//! nothing else, so it costs the same for 3 projects as for 1,000; the rows are read only when
//! the user types, chooses, opens the fold or presses Connect.

use leptos::prelude::*;

/// Filters the project list as the user types, and links each chosen project in its own
/// request, six in flight (the server works on four at a time), showing each one's progress,
/// then sends the popup to its last step.
///
/// The island is an empty element: children would make the wasm carry code to hydrate them.
#[island]
pub fn ProjectPicker() -> impl IntoView {
    view! { <div class="picker" hidden=true use:enhance></div> }
}

/// Runs in the browser when the island hydrates: listeners on the document, then the search
/// form says the popup is live.
fn enhance(_picker: leptos::tachys::renderer::types::Element) {
    #[cfg(feature = "hydrate")]
    dom::enhance();
}

#[cfg(feature = "hydrate")]
mod dom {
    //! Direct DOM work on the server-rendered list: the rows are not island state, so the
    //! island reads and annotates them in place, and only when the user acts. Written for size:
    //! every web API used and every generic instantiated adds to the wasm each user downloads,
    //! so elements whose type the selector guarantees are cast unchecked.

    use std::{cell::RefCell, collections::VecDeque, rc::Rc};

    use js_sys::{Reflect, JSON};
    use wasm_bindgen::{closure::Closure, JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{Element, HtmlElement, HtmlFormElement, HtmlInputElement, HtmlSelectElement};

    use crate::model::{summary, CHOICE_NEW, CHOICE_SKIP, FORM_TOKEN_FIELD};

    /// Calls `f` with each element under `root` that matches `selector`, cast to what the
    /// selector guarantees. One loop behind a `dyn` callback, not one copy per caller.
    fn each<T: JsCast>(root: &Element, selector: &str, mut f: impl FnMut(T)) {
        each_node(root, selector, &mut |node| f(node.unchecked_into()));
    }

    fn each_node(root: &Element, selector: &str, f: &mut dyn FnMut(JsValue)) {
        if let Ok(list) = root.query_selector_all(selector) {
            for i in 0..list.length() {
                if let Some(node) = list.item(i) {
                    f(node.into());
                }
            }
        }
    }

    pub fn enhance() {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        // `input` from the search box; `change`, which bubbles the same way, from a row's select.
        let on_input = Closure::<dyn Fn(web_sys::Event)>::new(move |ev: web_sys::Event| {
            let Some(input) = ev.target().map(JsCast::unchecked_into::<HtmlInputElement>) else { return };
            if input.id() == "project-search" {
                filter_projects(&input.value());
            } else if let Some(page) = page() {
                update_summary(&page);
            }
        });
        // The bulk buttons above the list, and a failed row's Retry.
        let on_click = Closure::<dyn Fn(web_sys::Event)>::new(|ev: web_sys::Event| {
            let Some(button) = ev.target().map(JsCast::unchecked_into::<Element>) else { return };
            let Some(page) = page() else { return };
            if let Some(value) = button.get_attribute("data-select") {
                select_shown(&page, &value);
            } else if button.class_name() == "retry secondary" {
                retry(button);
            }
        });
        let on_submit = Closure::<dyn Fn(web_sys::Event)>::new(|ev: web_sys::Event| {
            let Some(form) = ev.target().map(JsCast::unchecked_into::<HtmlFormElement>) else { return };
            match form.class_name().as_str() {
                // Hydrated, the list is already filtered as typed: the search needs no reload.
                "search" => ev.prevent_default(),
                "link-form" => {
                    ev.prevent_default();
                    link_all(form);
                }
                _ => {}
            }
        });
        // `toggle` does not bubble: caught on its way down to the fold's <details>.
        let on_toggle = Closure::<dyn Fn(web_sys::Event)>::new(|_: web_sys::Event| {
            if let Some(page) = page() {
                unfold(&page);
            }
        });
        // On the document, not on the forms: the link form may not be parsed yet.
        let _ = document.add_event_listener_with_callback("input", on_input.as_ref().unchecked_ref());
        let _ = document.add_event_listener_with_callback("change", on_input.as_ref().unchecked_ref());
        let _ = document.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
        let _ = document.add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref());
        let _ = document.add_event_listener_with_callback_and_bool("toggle", on_toggle.as_ref().unchecked_ref(), true);
        // The listeners live as long as the page.
        on_input.forget();
        on_click.forget();
        on_submit.forget();
        on_toggle.forget();
        let Some(page) = document.document_element() else { return };
        // The fold may have been opened before the wasm arrived.
        unfold(&page);
        each(&page, ".bulk", |bulk: HtmlElement| bulk.set_hidden(false));
        each(&page, "form[data-hydrated]", |form: Element| {
            let _ = form.set_attribute("data-hydrated", "true");
        });
    }

    /// Says what Connect would do with the choices as they stand (see `model::summary`).
    fn update_summary(page: &Element) {
        let mut new = 0;
        let mut connected: Vec<(String, usize)> = Vec::new();
        each(page, "li.project select", |select: HtmlSelectElement| {
            let value = select.value();
            if value == CHOICE_NEW {
                new += 1;
            } else if value != CHOICE_SKIP {
                // The option reads "Connect {resource}".
                let label = select.query_selector("option:checked").ok().flatten().and_then(|o| o.text_content());
                let label = label.unwrap_or_default();
                let name = label.strip_prefix("Connect ").unwrap_or(&label);
                match connected.iter_mut().find(|(known, _)| known == name) {
                    Some((_, count)) => *count += 1,
                    None => connected.push((name.to_owned(), 1)),
                }
            }
        });
        each(page, ".summary", |line: Element| line.set_text_content(Some(&summary(new, &connected))));
    }

    /// "Select all shown" chooses a new resource for each shown row still unchosen (a resource
    /// already chosen stays); "Select none" clears every shown row. Rows hidden by the search
    /// or behind the closed fold are left as they are.
    fn select_shown(page: &Element, value: &str) {
        let shown = ".projects>li.project:not([hidden]) select,details[open] li.project:not([hidden]) select";
        each(page, shown, |select: HtmlSelectElement| {
            if value == CHOICE_SKIP || select.value() == CHOICE_SKIP {
                select.set_value(value);
            }
        });
        update_summary(page);
    }

    /// The document's root element: what the listeners on the document search under.
    fn page() -> Option<Element> {
        web_sys::window()?.document()?.document_element()
    }

    /// Makes the selects of the opened fold. The server sends them inside `<noscript>`: a
    /// browser without scripts parses them as the form's own, while to this one they are text,
    /// which costs the first paint (and so the hydration) nothing until the user opens the fold.
    /// Until then their projects are not chosen, as with "Don't connect".
    fn unfold(page: &Element) {
        each(page, "li.more details[open] noscript", |text: Element| {
            text.set_outer_html(&text.text_content().unwrap_or_default());
        });
    }

    /// Hides the rows whose name does not contain the text, and says how many stay.
    fn filter_projects(text: &str) {
        let Some(page) = page() else { return };
        // Lowercased by the browser, as each name is: the Unicode tables stay out of the wasm.
        let needle = String::from(js_sys::JsString::from(text.trim()).to_lower_case());
        // Matches may sit behind the "more projects" fold: a search shows them all.
        if !needle.is_empty() {
            each(&page, "li.more details", |details: Element| {
                let _ = details.set_attribute("open", "");
            });
            unfold(&page);
        }
        let mut visible = 0;
        each(&page, "li.project", |row: HtmlElement| {
            let name =
                row.query_selector("span").ok().flatten().and_then(|span| span.text_content()).unwrap_or_default();
            let matches = js_sys::JsString::from(name).to_lower_case().includes(&needle, 0);
            row.set_hidden(!matches);
            visible += usize::from(matches);
        });
        each(&page, ".count", |count: Element| {
            let total = count.get_attribute("data-total").unwrap_or_default();
            count.set_text_content(Some(&format!("Showing {visible} of {total} projects")));
        });
    }

    /// One project's form post, and the row element that shows its progress.
    struct Job {
        row: Element,
        body: web_sys::UrlSearchParams,
    }

    /// One Connect press (or one Retry): the form, the posts still to send, and whether the
    /// server asked about variables made outside Tether.
    struct Run {
        form: HtmlFormElement,
        jobs: VecDeque<Job>,
        in_flight: usize,
        clashed: bool,
    }

    fn show(row: &Element, text: &str, state: &str) {
        each(row, ".status", |status: Element| {
            status.set_text_content(Some(text));
            let _ = status.set_attribute("data-state", state);
        });
    }

    /// The fields every post of this form carries: its installation and token, read once.
    fn common_fields(form: &HtmlFormElement) -> Vec<(&'static str, String)> {
        let mut fields = Vec::new();
        for name in ["configuration_id", FORM_TOKEN_FIELD] {
            each(form, &format!("input[name={name}]"), |input: HtmlInputElement| fields.push((name, input.value())));
        }
        fields
    }

    /// A urlencoded body that starts with the common fields.
    fn body(common: &[(&str, String)]) -> Option<web_sys::UrlSearchParams> {
        let params = web_sys::UrlSearchParams::new().ok()?;
        for (name, value) in common {
            params.append(name, value);
        }
        Some(params)
    }

    /// A post per chosen project not yet linked by this page (all of them, or `only` that
    /// row), with its keep-or-replace answer when the server asked for one.
    fn jobs(form: &HtmlFormElement, only: Option<&Element>) -> VecDeque<Job> {
        let common = common_fields(form);
        let mut jobs = VecDeque::new();
        each(form, "li.project", |row: Element| {
            let done = row.query_selector(".status[data-state=done]").ok().flatten().is_some();
            if done || only.is_some_and(|only| !only.is_same_node(Some(&row))) {
                return;
            }
            let mut params = None;
            each(&row, "select", |select: HtmlSelectElement| {
                if select.value() != CHOICE_SKIP {
                    params = body(&common);
                    if let Some(body) = &params {
                        body.append(&select.name(), &select.value());
                    }
                }
            });
            let Some(body) = params else { return };
            each(&row, "input[type=radio]:checked", |answer: HtmlInputElement| {
                body.append(&answer.name(), &answer.value())
            });
            show(&row, "Waiting…", "waiting");
            jobs.push_back(Job { row, body });
        });
        jobs
    }

    /// Requests in flight at once: as many as a browser opens to one origin over HTTP/1.1. The
    /// server provisions four of an installation's projects at a time and holds the others, so
    /// the next project starts the moment one finishes, not a round trip later: the hydrated
    /// popup links as fast as the plain form while each project shows its own progress.
    const IN_FLIGHT: usize = 6;

    fn busy(form: &HtmlFormElement, busy: bool) {
        let _ = form.set_attribute("aria-busy", if busy { "true" } else { "false" });
        each(form, "button[type=submit]", |button: web_sys::HtmlButtonElement| {
            button.set_disabled(busy);
            button.set_text_content(Some(if busy { "Connecting…" } else { "Connect" }));
        });
    }

    /// Links every chosen project, `IN_FLIGHT` requests at a time, then finishes. Plain tasks
    /// sharing a queue: a stream combinator would add kilobytes of wasm for the same effect.
    fn link_all(form: HtmlFormElement) {
        let jobs = jobs(&form, None);
        run(form, jobs);
    }

    /// Links one failed project again, alone.
    fn retry(button: Element) {
        let Some(row) = button.closest("li.project").ok().flatten() else { return };
        let Some(form) = row.closest("form").ok().flatten() else { return };
        let form: HtmlFormElement = form.unchecked_into();
        if form.get_attribute("aria-busy").as_deref() != Some("true") {
            button.remove();
            let jobs = jobs(&form, Some(&row));
            run(form, jobs);
        }
    }

    fn run(form: HtmlFormElement, jobs: VecDeque<Job>) {
        if form.get_attribute("aria-busy").as_deref() == Some("true") {
            return;
        }
        busy(&form, true);
        let workers = IN_FLIGHT.min(jobs.len()).max(1);
        let run = Rc::new(RefCell::new(Run { form, jobs, in_flight: workers, clashed: false }));
        for _ in 0..workers {
            wasm_bindgen_futures::spawn_local(work(run.clone()));
        }
    }

    async fn work(run: Rc<RefCell<Run>>) {
        let path = run.borrow().form.action();
        loop {
            let next = run.borrow_mut().jobs.pop_front();
            let Some(job) = next else { break };
            show(&job.row, "Connecting…", "working");
            let (ok, clash) = match post(&path, &job.body).await {
                Ok(report) => {
                    // One project per post: its outcome is the report's only one.
                    let outcome = Reflect::get_u32(&field(&report, "outcomes"), 0).unwrap_or(JsValue::NULL);
                    let ok = field(&outcome, "ok").is_truthy();
                    show(&job.row, &text(&field(&outcome, "message")), if ok { "done" } else { "failed" });
                    (ok, field(&outcome, "clash").is_truthy())
                }
                Err(message) => {
                    show(&job.row, &message, "failed");
                    (false, false)
                }
            };
            if !ok && !clash {
                offer_retry(&job.row);
            }
            run.borrow_mut().clashed |= clash;
        }
        let last = {
            let mut state = run.borrow_mut();
            state.in_flight -= 1;
            state.in_flight == 0
        };
        if last {
            let (form, clashed) = {
                let state = run.borrow();
                (state.form.clone(), state.clashed)
            };
            // Done when no project on the page is left failed, whichever run linked it.
            let all_ok = form.query_selector(".status[data-state=failed]").ok().flatten().is_none();
            finish(&form, all_ok, clashed).await;
            busy(&form, false);
        }
    }

    /// A Retry button on a failed row, made once: the row's project is linked again alone.
    fn offer_retry(row: &Element) {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        if row.query_selector(".retry").ok().flatten().is_some() {
            return;
        }
        if let Ok(button) = document.create_element("button") {
            let _ = button.set_attribute("type", "button");
            button.set_class_name("retry secondary");
            button.set_text_content(Some("Retry"));
            let name = row.query_selector("span").ok().flatten().and_then(|span| span.text_content());
            let _ = button.set_attribute("aria-label", &format!("Retry {}", name.unwrap_or_default()));
            let _ = row.append_child(&button);
        }
    }

    async fn finish(form: &HtmlFormElement, all_ok: bool, clashed: bool) {
        let Some(window) = web_sys::window() else { return };
        if clashed {
            // The keep-or-replace choice is rendered by the server: show the page again with it.
            let _ = window.location().reload();
            return;
        }
        if !all_ok {
            return;
        }
        let path = <crate::api::FinishInstall as leptos::server_fn::ServerFn>::PATH;
        let Some(fields) = body(&common_fields(form)) else { return };
        match post(path, &fields).await {
            Ok(next) => {
                let _ = window.location().set_href(&text(&next));
            }
            Err(message) => each(form, ".form-actions", |actions: Element| {
                let _ = actions.insert_adjacent_text("afterbegin", &message);
            }),
        }
    }

    /// A server function's answer to a urlencoded post, read with the browser's own JSON
    /// parser: the value when the status is 2xx, otherwise what the error says. `fetch` itself,
    /// not a wrapper: the wasm carries only the calls made here.
    async fn post(path: &str, body: &web_sys::UrlSearchParams) -> Result<JsValue, String> {
        let window = web_sys::window().ok_or(TRY_AGAIN)?;
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(body);
        // Without it, the server function answers a form post with a redirect.
        let headers = js_sys::Object::new();
        let _ = Reflect::set(&headers, &"accept".into(), &"application/json".into());
        init.set_headers(&headers);
        let response = JsFuture::from(window.fetch_with_str_and_init(path, &init)).await.map_err(|_| TRY_AGAIN)?;
        let response: web_sys::Response = response.unchecked_into();
        let text = match response.text() {
            Ok(promise) => JsFuture::from(promise).await.ok().and_then(|t| t.as_string()).unwrap_or_default(),
            Err(_) => String::new(),
        };
        let answer = JSON::parse(&text).unwrap_or(JsValue::NULL);
        if response.ok() {
            Ok(answer)
        } else if text_of(&answer, "kind") == crate::AppError::NotYours.kind() {
            // The session is gone: the page itself says so, with the ways forward.
            let _ = window.location().reload();
            Err(TRY_AGAIN.into())
        } else {
            // Every error's wire form carries the words for the user (see `AppError`).
            Err(field(&answer, "message").as_string().unwrap_or_else(|| TRY_AGAIN.into()))
        }
    }

    const TRY_AGAIN: &str = "Something went wrong. Press Connect to try again.";

    fn field(value: &JsValue, key: &str) -> JsValue {
        Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }

    fn text(value: &JsValue) -> String {
        value.as_string().unwrap_or_default()
    }

    fn text_of(value: &JsValue, key: &str) -> String {
        text(&field(value, key))
    }
}
