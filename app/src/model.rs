//! What the pages show, as plain data the server fills in.

use serde::{Deserialize, Serialize};

/// The hidden field that carries `form_token` in every form.
pub const FORM_TOKEN_FIELD: &str = "form_token";

/// A user's choice for one project, as the form posts it.
pub const CHOICE_SKIP: &str = "skip";
pub const CHOICE_NEW: &str = "new";
pub const CHOICE_EXISTING_PREFIX: &str = "existing:";
/// What to do with variables of the same name that someone else made (`clashes[project]`).
pub const CLASH_KEEP: &str = "keep";
pub const CLASH_REPLACE: &str = "replace";

#[derive(Debug, Clone)]
pub struct InstallView {
    pub configuration_id: String,
    pub scope_name: String,
    /// Why the scope's name is missing (a scope the integration lacks), when it is.
    pub scope_note: Option<String>,
    pub is_team: bool,
    pub vendor_name: String,
    /// Account linking is configured and this installation has no vendor account yet: where
    /// the "Sign in" button goes. The projects wait until then.
    pub sign_in: Option<String>,
    /// The project list's items as HTML, from the server's `html::rows`: the server renders
    /// and caches them apart from the page, and may put [`crate::pages::ROWS_SLOT`] here to
    /// splice them in itself.
    pub rows: String,
    /// How many of the account's projects the search left.
    pub shown: usize,
    /// How many projects the account has in all, before any search.
    pub total_projects: usize,
    pub query: String,
    /// What Connect would do with the choices as the page opens, in words (see [`summary`]).
    pub summary: String,
    /// Which projects the user gave the installation at Vercel, when not all of them.
    pub access_note: Option<String>,
    /// Vercel limited the installation to one project: it is chosen, with no search or bulk
    /// selection, as Vercel's approval checklist asks.
    pub fixed: bool,
    pub next: String,
    /// Proves a plain form post came from this page, for browsers that send neither `Origin`
    /// nor `Sec-Fetch-Site`; derived from the session, never stored.
    pub form_token: String,
}

#[derive(Debug, Clone)]
pub struct ProjectRow {
    pub id: String,
    pub name: String,
    pub framework: Option<String>,
    pub state: RowState,
    pub default_choice: String,
    /// The project the user just deployed (the Deploy Button's): marked, and shown first.
    pub current: bool,
    /// Without a Deploy Button's project, the marketplace popup chooses the most recently
    /// updated project not linked yet: marked, and shown first.
    pub recent: bool,
    /// The installation's only project: it cannot be left out, only its resource chosen.
    pub fixed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowState {
    Open,
    Linked {
        resource_name: String,
    },
    Failed {
        message: String,
    },
    /// Keys Tether would write that already exist in the project, made by someone else: the
    /// user keeps theirs or replaces them, never silently.
    Clash {
        keys: Vec<String>,
    },
}

/// What the chosen projects add up to, as the popup says it before Connect: "3 projects
/// chosen: 1 new resource, 2 connected to shared-db." `connected` is (resource name, projects)
/// in the order first chosen. The server says it as the page opens; the island, as choices
/// change, with this same function.
pub fn summary(new: usize, connected: &[(String, usize)]) -> String {
    let chosen = new + connected.iter().map(|(_, n)| n).sum::<usize>();
    if chosen == 0 {
        return "No project chosen yet.".into();
    }
    let mut parts = Vec::new();
    if new > 0 {
        parts.push(format!("{new} new resource{}", if new == 1 { "" } else { "s" }));
    }
    for (name, n) in connected {
        parts.push(format!("{n} connected to {name}"));
    }
    let plural = if chosen == 1 { "" } else { "s" };
    format!("{chosen} project{plural} chosen: {}.", parts.join(", "))
}

#[derive(Debug, Clone)]
pub struct ResourceOption {
    pub id: String,
    pub name: String,
}

/// An error page: what happened, what to do, and every way forward.
#[derive(Debug, Clone)]
pub struct ErrorView {
    /// Which failure this is, for tests and stylesheets: `code-expired`, `vendor-down`, ….
    pub kind: String,
    pub status: u16,
    pub title: String,
    /// What happened.
    pub message: String,
    /// What to do about it.
    pub advice: String,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone)]
pub struct Action {
    pub label: String,
    pub href: String,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_summary_names_what_connect_will_do() {
        use super::summary;
        assert_eq!(summary(0, &[]), "No project chosen yet.");
        assert_eq!(summary(1, &[]), "1 project chosen: 1 new resource.");
        let shared = [("shared-db".to_owned(), 2)];
        assert_eq!(summary(3, &shared), "5 projects chosen: 3 new resources, 2 connected to shared-db.");
        assert_eq!(summary(0, &shared), "2 projects chosen: 2 connected to shared-db.");
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectOutcome {
    pub project_id: String,
    pub ok: bool,
    pub message: String,
    /// Nothing was written: the project has variables of the same names that Tether did not make.
    #[serde(default)]
    pub clash: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkReport {
    pub outcomes: Vec<ProjectOutcome>,
}

impl LinkReport {
    pub fn all_ok(&self) -> bool {
        self.outcomes.iter().all(|o| o.ok)
    }
}

/// The Configure page: what this installation linked, and what the user can change.
#[derive(Debug, Clone)]
pub struct ConfigureView {
    pub configuration_id: String,
    pub scope_name: String,
    pub scope_note: Option<String>,
    pub is_team: bool,
    pub vendor_name: String,
    pub links: Vec<LinkView>,
    pub resources: Vec<ResourceView>,
    /// Projects Vercel reported as created since the install (webhooks), not yet linked.
    pub new_projects: Vec<String>,
    /// A message about the last action, chosen by the server from a fixed set.
    pub notice: Option<String>,
    pub form_token: String,
}

/// The popup's last step: what was connected, before it returns to Vercel on its own.
#[derive(Debug, Clone)]
pub struct DoneView {
    pub vendor_name: String,
    pub scope_name: String,
    /// Every project this installation connected, with the variables written to each.
    pub links: Vec<LinkView>,
    /// Vercel's `next`: where the popup returns.
    pub next: String,
}

#[derive(Debug, Clone)]
pub struct LinkView {
    pub project_id: String,
    pub project_name: String,
    pub resource_name: String,
    /// Keys of the variables Tether created, never their values.
    pub env_keys: Vec<String>,
    /// How many variables those keys make (a secret is one per environment type).
    pub env_count: usize,
    /// The latest deployment state Vercel reported for the project, e.g. `succeeded https://…`.
    pub last_deployment: Option<String>,
    pub failed: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ResourceView {
    pub id: String,
    pub name: String,
    pub url: String,
    pub linked_projects: usize,
    /// A rotation did not finish: old and new credentials both work until it does.
    pub rotating: bool,
}

/// The page a Vercel user lands on from "Open in …" on Vercel's dashboard (native
/// integrations, single sign-on): the installation's resources and where Vercel connected them.
#[derive(Debug, Clone)]
pub struct NativeView {
    pub configuration_id: String,
    pub vendor_name: String,
    /// The Vercel team (or account) that installed, as Vercel named it.
    pub team_name: String,
    /// The signed-in user's role in that team is read-only (Vercel's `USER`).
    pub read_only: bool,
    pub resources: Vec<NativeResourceView>,
    /// A message about what the link asked for, chosen by the server from a fixed set.
    pub notice: Option<String>,
    /// Back to Vercel's dashboard.
    pub back_url: String,
    pub form_token: String,
}

#[derive(Debug, Clone)]
pub struct NativeResourceView {
    /// Tether's id, the one Vercel knows.
    pub id: String,
    pub name: String,
    pub product: String,
    pub plan: String,
    pub status: String,
    /// The projects Vercel connected it to, by name where Vercel said it.
    pub projects: Vec<String>,
    /// The resource Vercel's link was about: shown first and marked.
    pub focused: bool,
}
