//! The only part that hydrates: the project picker, an island around the search form. The
//! search form filters on the server when submitted, and the link form below it posts normally;
//! both work without JavaScript.
//!
//! The island takes no props (Leptos would send them as JSON, and reading them would put a JSON
//! parser in the wasm) and owns no reactive state: what it needs is in the markup (hidden
//! inputs, data attributes). Hydrating it attaches three listeners to the document (input and
//! submit bubble up from both forms; the fold's toggle is caught on its way down) and touches
//! nothing else, so it costs the same for 3 projects as for 250; the rows are read only when
//! the user types, opens the fold or presses Connect.

use leptos::prelude::*;

/// Filters the project list as the user types, and links each chosen project in its own
/// request, six in flight (the server works on four at a time), showing each one's progress,
/// then sends the popup to Vercel's `next`.
#[island]
pub fn ProjectPicker(children: Children) -> impl IntoView {
    view! { <div class="picker" use:enhance>{children()}</div> }
}

/// Runs in the browser when the island hydrates: `input`, `submit` and `toggle` listeners on
/// the document, then the search form says the popup is live.
fn enhance(_picker: leptos::tachys::renderer::types::Element) {
    #[cfg(feature = "hydrate")]
    dom::enhance(_picker);
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

    use crate::model::{CHOICE_SKIP, FORM_TOKEN_FIELD};

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

    pub fn enhance(picker: Element) {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        let on_input = Closure::<dyn Fn(web_sys::Event)>::new(move |ev: web_sys::Event| {
            let Some(input) = ev.target().map(JsCast::unchecked_into::<HtmlInputElement>) else { return };
            if input.id() == "project-search" {
                filter_projects(&input.value());
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
        let _ = document.add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref());
        let _ = document.add_event_listener_with_callback_and_bool("toggle", on_toggle.as_ref().unchecked_ref(), true);
        // The listeners live as long as the page.
        on_input.forget();
        on_submit.forget();
        on_toggle.forget();
        // The fold may have been opened before the wasm arrived.
        if let Some(page) = document.document_element() {
            unfold(&page);
        }
        each(&picker, "form[data-hydrated]", |form: Element| {
            let _ = form.set_attribute("data-hydrated", "true");
        });
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

    /// One Connect press: the form, the posts still to send, and what the answers add up to.
    struct Run {
        form: HtmlFormElement,
        jobs: VecDeque<Job>,
        in_flight: usize,
        all_ok: bool,
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

    /// A post per chosen project, with its keep-or-replace answer when the server asked for one.
    fn jobs(form: &HtmlFormElement) -> VecDeque<Job> {
        let common = common_fields(form);
        let mut jobs = VecDeque::new();
        each(form, "li.project", |row: Element| {
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
        if form.get_attribute("aria-busy").as_deref() == Some("true") {
            return;
        }
        busy(&form, true);
        let jobs = jobs(&form);
        let workers = IN_FLIGHT.min(jobs.len()).max(1);
        let run = Rc::new(RefCell::new(Run { form, jobs, in_flight: workers, all_ok: true, clashed: false }));
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
            let mut state = run.borrow_mut();
            state.all_ok &= ok;
            state.clashed |= clash;
        }
        let last = {
            let mut state = run.borrow_mut();
            state.in_flight -= 1;
            state.in_flight == 0
        };
        if last {
            let (form, all_ok, clashed) = {
                let state = run.borrow();
                (state.form.clone(), state.all_ok, state.clashed)
            };
            finish(&form, all_ok, clashed).await;
            busy(&form, false);
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
        } else if answer.as_string().as_deref() == Some("NotYours") {
            // The session is gone: the page itself says so, with the ways forward.
            let _ = window.location().reload();
            Err(TRY_AGAIN.into())
        } else {
            Err(error_message(&answer))
        }
    }

    const TRY_AGAIN: &str = "Something went wrong. Press Connect to try again.";

    /// The words of serde's JSON for an `AppError`: `{"Vercel":"…"}` or `{"Busy":{"message":…}}`
    /// carry them; unit variants (`"Internal"`) do not.
    fn error_message(error: &JsValue) -> String {
        let Some(kind) = js_sys::Object::keys(error.unchecked_ref::<js_sys::Object>()).get(0).as_string() else {
            return TRY_AGAIN.into();
        };
        let inner = field(error, &kind);
        inner.as_string().or_else(|| field(&inner, "message").as_string()).unwrap_or_else(|| TRY_AGAIN.into())
    }

    fn field(value: &JsValue, key: &str) -> JsValue {
        Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }

    fn text(value: &JsValue) -> String {
        value.as_string().unwrap_or_default()
    }
}
