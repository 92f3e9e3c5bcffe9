//! The install page's project rows: written as plain markup, and rendered and brotli-compressed
//! once for each state of what they show. On a 250-project team the rows are nearly all of the page: rendering them and
//! compressing 100 KB on every load held the page to about 1,000 requests/s on two cores.
//!
//! An entry is found by a digest of everything the rows are made from, read afresh on every
//! load (the cached project list, the links, the vendor's resources, the session's preselected
//! project and the search). So nothing needs invalidating, a change made through another
//! instance shows at once, and two sessions of one installation share the entry.

use std::{
    fmt::Write as _,
    hash::{Hash, Hasher},
    sync::{Arc, Mutex},
};

use app::model::{
    ProjectRow, ResourceOption, RowState, CHOICE_EXISTING_PREFIX, CHOICE_NEW, CHOICE_SKIP, CLASH_KEEP, CLASH_REPLACE,
};
use axum::body::Bytes;
use hashlink::LruCache;
use sha2::{Digest as _, Sha256};

use super::{compress::compress_part, escape};

/// Entries kept: each is the rows' compressed HTML (about 3.5 KB for 250 projects), so even
/// full the cache holds about 1 MB.
const CAPACITY: usize = 256;

/// What the page shows besides the rows that comes from the same inputs, so a load that finds
/// its entry parses nothing.
pub struct Rows {
    pub markup: Compressed,
    pub shown: usize,
    pub total: usize,
    /// What Connect would do with the rows' choices as they open.
    pub summary: String,
    pub scope_name: String,
    pub scope_note: Option<String>,
    /// What the user gave the installation at Vercel, when it was not all projects.
    pub access_note: Option<String>,
    /// The installation has exactly one project: it comes chosen, and there is nothing to
    /// search or select.
    pub fixed: bool,
}

/// The rows' markup, and the same brotli-compressed as a part to join (see [`super::page`]).
pub struct Compressed {
    pub brotli: Bytes,
    pub html_len: usize,
}

pub fn compressed(rows: Vec<ProjectRow>, resources: &[ResourceOption]) -> Result<Compressed, super::HtmlError> {
    let html = markup(rows, resources);
    Ok(Compressed { brotli: compress_part(html.as_bytes())?.into(), html_len: html.len() })
}

/// Rows shown before the "more projects" fold: what the list's box (55% of the window's
/// height) holds in a popup 720 px high. Each shown row costs the first paint, and so the
/// hydration that follows it, 1 to 2 ms in Chromium on two cores: without a fold, 3 rows hydrated
/// in 100 ms and 8 in 107 (medians of 41 loads each); in another run 3 in 108 and 12 in 124.
const FIRST_ROWS: usize = 8;

/// The rows as the list's items. On a 250-project team they are nearly all of the page's
/// bytes, and they change only when the projects, links or resources do.
///
/// Plain markup rather than Leptos's `view!`: nothing here hydrates, so the hydration markers
/// `view!` leaves would be bytes every browser parses for nothing, and the rows are the page's
/// only cost that grows with the team. Every value goes through [`escape`].
pub fn markup(rows: Vec<ProjectRow>, resources: &[ResourceOption]) -> String {
    // What needs the user first leads: the project just deployed and the ones whose last
    // attempt failed or clashed. Then the others in Vercel's order, and the projects linked
    // already last, grouped apart: there is nothing to choose for them.
    let (linked, open): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| matches!(r.state, RowState::Linked { .. }));
    let (mut first, rest): (Vec<_>, Vec<_>) = open.into_iter().partition(needs_attention);
    let linked_count = linked.len();
    let mut rest = rest.into_iter().chain(linked);
    first.extend(rest.by_ref().take(FIRST_ROWS.saturating_sub(first.len())));
    let rest: Vec<_> = rest.collect();
    let mut html = String::with_capacity((first.len() + rest.len()) * 256);
    let mut grouped = false;
    let mut row = |html: &mut String, row: ProjectRow, folded: bool| {
        if !grouped && matches!(row.state, RowState::Linked { .. }) {
            grouped = true;
            let _ = write!(html, r#"<li class="group">Linked already ({linked_count})</li>"#);
        }
        project_row(html, row, resources, folded);
    };
    for first in first {
        row(&mut html, first, false);
    }
    if !rest.is_empty() {
        // Closed, the browser neither styles nor lays out what a `<details>` holds: the first
        // paint, and the island's hydration that waits for it, style and lay out 8 rows
        // however many the team has. The folded rows' selects come inside `<noscript>`: to a
        // browser running scripts that is text, so even parsing them is left until the fold
        // opens (the island makes them then); to one without, they are the form's own.
        let more = rest.len();
        let _ = write!(html, r#"<li class="more"><details><summary>Show {more} more projects</summary><ul>"#);
        for folded in rest {
            row(&mut html, folded, true);
        }
        html.push_str("</ul></details></li>");
    }
    html
}

fn needs_attention(row: &ProjectRow) -> bool {
    match row.state {
        RowState::Failed { .. } | RowState::Clash { .. } => true,
        RowState::Open => row.default_choice == CHOICE_NEW,
        RowState::Linked { .. } => false,
    }
}

// The first span is the project's name: the search reads its text; the empty status line is
// where the island shows the project's progress (250 empty spans cost the page fewer bytes
// than the code to make them would cost the wasm). Writing to a String cannot fail, hence the
// ignored results.
fn project_row(html: &mut String, row: ProjectRow, resources: &[ResourceOption], folded: bool) {
    let ProjectRow { id, name, framework, state, default_choice, current, recent, fixed } = row;
    if current {
        let _ = write!(html, r#"<li class="project current" aria-current="true"><span>{}</span>"#, escape(&name));
        html.push_str(r#"<span class="badge">Just deployed</span>"#);
    } else if recent {
        let _ = write!(html, r#"<li class="project recent"><span>{}</span>"#, escape(&name));
        html.push_str(r#"<span class="badge">Updated most recently</span>"#);
    } else {
        let _ = write!(html, r#"<li class="project"><span>{}</span>"#, escape(&name));
    }
    if let Some(framework) = framework {
        let _ = write!(html, r#"<span class="framework">{}</span>"#, escape(&framework));
    }
    match &state {
        RowState::Linked { resource_name } => {
            let _ = write!(html, r#"<span class="linked">Linked to {}</span>"#, escape(resource_name));
        }
        RowState::Open | RowState::Failed { .. } | RowState::Clash { .. } => {
            if folded {
                html.push_str("<noscript>");
            }
            let _ =
                write!(html, r#"<select name="choices[{}]" aria-label="Resource for {}">"#, escape(&id), escape(&name));
            let mut option = |value: &str, label: &str| {
                let selected = if value == default_choice { " selected" } else { "" };
                let _ = write!(html, r#"<option value="{}"{selected}>{}</option>"#, escape(value), escape(label));
            };
            if !fixed {
                option(CHOICE_SKIP, "Don't connect");
            }
            option(CHOICE_NEW, "Create a new resource");
            for resource in resources {
                option(&format!("{CHOICE_EXISTING_PREFIX}{}", resource.id), &format!("Connect {}", resource.name));
            }
            html.push_str(if folded { "</select></noscript>" } else { "</select>" });
        }
    }
    match state {
        RowState::Failed { message } => {
            let _ = write!(html, r#"<p class="failure">{}</p>"#, escape(&message));
        }
        RowState::Clash { keys } => clash_choice(html, &id, &keys),
        RowState::Open | RowState::Linked { .. } => {}
    }
    html.push_str(r#"<span class="status" role="status"></span></li>"#);
}

/// Variables of the same names made outside Tether: keep them (the default, nothing of theirs
/// changes) or replace them, as an explicit choice.
fn clash_choice(html: &mut String, project_id: &str, keys: &[String]) {
    let id = escape(project_id);
    let legend =
        format!("{} already {} in this project, made outside Tether.", keys.join(", "), app::error::exist(keys.len()));
    let _ = write!(
        html,
        r#"<fieldset class="clash" data-testid="clash"><legend>{legend}</legend><div><input type="radio" id="keep-{id}" name="clashes[{id}]" value="{CLASH_KEEP}" checked><label for="keep-{id}">Keep yours: Tether skips these keys</label></div><div><input type="radio" id="replace-{id}" name="clashes[{id}]" value="{CLASH_REPLACE}"><label for="replace-{id}">Replace them with the resource's values</label></div></fieldset>"#,
        legend = escape(&legend),
    );
}

/// A SHA-256 digest of the rows' inputs, fed through `Hash` so that every field is delimited.
pub type Digest = [u8; 32];

pub struct RowsCache {
    entries: Mutex<LruCache<Digest, Arc<Rows>>>,
}

impl Default for RowsCache {
    fn default() -> Self {
        Self { entries: Mutex::new(LruCache::new(CAPACITY)) }
    }
}

impl RowsCache {
    pub fn get(&self, key: &Digest) -> Option<Arc<Rows>> {
        self.entries.lock().ok()?.get(key).cloned()
    }

    pub fn insert(&self, key: Digest, rows: Arc<Rows>) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(key, rows);
        }
    }
}

/// `input` digested with SHA-256: a collision would show one installation's rows for another
/// state of them, so the digest must not be one anybody can aim at.
pub fn digest(input: &impl Hash) -> Digest {
    struct Sha(Sha256);
    impl Hasher for Sha {
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
        // Never called: `Hash` implementations only write, and the digest is read instead.
        fn finish(&self) -> u64 {
            0
        }
    }
    let mut sha = Sha(Sha256::new());
    input.hash(&mut sha);
    sha.0.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Markup that would end an attribute or open an element, in every value the rows show.
    const HOSTILE: &str = "x\"'<b>&";

    fn row(n: usize, state: RowState) -> ProjectRow {
        ProjectRow {
            id: format!("{HOSTILE}{n}"),
            name: format!("{HOSTILE}{n}"),
            framework: Some(HOSTILE.into()),
            state,
            // Rows chosen for nothing lead less: past the first few they fold.
            default_choice: if n == 0 { CHOICE_NEW } else { CHOICE_SKIP }.into(),
            current: n == 0,
            recent: n == 1,
            fixed: false,
        }
    }

    #[test]
    fn every_value_in_the_rows_is_escaped() {
        let states = [
            RowState::Open,
            RowState::Linked { resource_name: HOSTILE.into() },
            RowState::Failed { message: HOSTILE.into() },
            RowState::Clash { keys: vec![HOSTILE.into()] },
        ];
        // More rows than the fold shows, so folded rows are written too.
        let rows: Vec<_> = (0..FIRST_ROWS * 2).map(|n| row(n, states[n % states.len()].clone())).collect();
        let resources = [ResourceOption { id: HOSTILE.into(), name: HOSTILE.into() }];
        let html = markup(rows, &resources);
        assert!(html.contains("<noscript>"), "some rows are folded");
        assert!(!html.contains("<b>"), "no value opens an element:\n{html}");
        // The markup quotes every attribute with `"`.
        assert!(!html.contains("x\""), "no value ends an attribute:\n{html}");
        let entity = |rest: &str| {
            let name = rest.split(';').next().unwrap_or_default();
            rest.contains(';')
                && !name.is_empty()
                && name.trim_start_matches('#').bytes().all(|b| b.is_ascii_alphanumeric())
        };
        assert!(html.match_indices('&').all(|(at, _)| entity(&html[at + 1..])), "every ampersand is escaped:\n{html}");
        assert!(html.contains(escape(HOSTILE).as_ref()), "the values are shown, escaped");
    }
}
