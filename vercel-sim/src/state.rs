//! Everything the simulator remembers: accounts, projects, codes, tokens, installations, env vars
//! and a log of the REST calls it served, so tests can assert what "Vercel" saw.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use rand::{distributions::Alphanumeric, Rng};
use serde::Serialize;

use crate::SimConfig;

pub const CODE_LIFETIME: Duration = Duration::from_secs(30 * 60);

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub email: Option<String>,
    pub is_team: bool,
    /// A Hobby team: the personal scope of a newer Vercel account, a team in the API.
    pub hobby: bool,
    /// Who installs in this scope (the team's member in the simulator, or the user).
    #[serde(skip)]
    pub installer: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: String,
    pub name: String,
    pub framework: Option<String>,
    pub account_id: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    pub id: String,
    pub key: String,
    #[serde(skip)]
    pub value: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub target: Vec<String>,
    pub configuration_id: Option<String>,
    /// What it is for, as the project's settings show it beside the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Installation {
    pub id: String,
    pub user_id: String,
    pub team_id: Option<String>,
    pub status: String,
    pub source: String,
    /// Set when the popup reached `next`, as the real dashboard notices.
    pub completed_at: Option<i64>,
    pub created_at: i64,
    /// `all`, or `selected`: the token then sees only `projects`.
    pub project_selection: String,
    pub projects: Vec<String>,
}

/// Project ids as the quirks say Vercel sends them: strings, or `{id}` objects.
pub(crate) fn project_list(ids: &[String], as_objects: bool) -> serde_json::Value {
    match as_objects {
        true => ids.iter().map(|id| serde_json::json!({"id": id})).collect(),
        false => serde_json::json!(ids),
    }
}

impl Installation {
    /// Whether this installation's token may see the project.
    pub fn may_see(&self, project_id: &str) -> bool {
        self.project_selection == "all" || self.projects.iter().any(|p| p == project_id)
    }
}

/// A webhook event as recorded and sent (see `webhooks`), with each attempt's status.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip)]
    pub body: Vec<u8>,
    /// The HTTP status of each attempt; 0 when the request failed outright.
    pub statuses: Vec<u16>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    /// When the call arrived, in Unix milliseconds.
    pub at_ms: i64,
    /// When its answer was ready: with `at_ms`, shows which calls were in flight together.
    pub done_ms: i64,
    pub method: String,
    pub path: String,
    pub team_id: Option<String>,
    pub configuration_id: Option<String>,
    pub status: u16,
}

/// How an installation starts: which account, which flow, and the flow's extra parameters.
#[derive(Clone, Debug)]
pub struct Begin<'a> {
    pub account_id: &'a str,
    /// `marketplace`, `external` or `deploy-button`.
    pub source: &'a str,
    pub state: Option<&'a str>,
    pub current_project_id: Option<&'a str>,
    pub external_id: Option<&'a str>,
    /// The install dialog's "choose projects" step: `None` for all projects, else only these.
    pub projects: Option<&'a [String]>,
}

impl Default for Begin<'_> {
    fn default() -> Self {
        Self {
            account_id: "",
            source: "marketplace",
            state: None,
            current_project_id: None,
            external_id: None,
            projects: None,
        }
    }
}

/// Answers the real Vercel is documented to give and a kind simulator never would. Tests turn
/// them on; `Sim::new` starts strict where Vercel's reference is clear.
#[derive(Clone, Debug, Default)]
pub struct Quirks {
    pub paging: Paging,
    /// `POST /v10/projects/{id}/env` answers without `created[].id`, single targets as strings.
    pub env_answers_without_ids: bool,
    /// The token answer says `team_id: null` although the installation is a (Hobby) team's.
    pub token_omits_team: bool,
    /// The Redirect URL is opened without `teamId` although the installation is a team's.
    pub callback_omits_team: bool,
    /// `GET /v10/projects` lists every project of the account even when the installation may
    /// see only some (the calls on the others are still refused): Tether must filter by the
    /// installation's `projects` itself.
    pub lists_unselected_projects: bool,
    /// The installation's `projects` (in its configuration and in `permission-upgraded`) come
    /// as `{id}` objects rather than id strings; Vercel's schemas show both.
    pub projects_as_objects: bool,
    /// The token answer leaves out `installation_id` (Vercel's reference marks it optional), so
    /// only the callback's `configurationId`, which anyone can edit, names the installation.
    pub token_omits_installation: bool,
    /// How long each env write takes to answer, as Vercel's do under load (benchmarks of
    /// linking speed; `SIM_ENV_WRITE_LATENCY_MS` for the process).
    pub env_write_latency: std::time::Duration,
}

/// How the project list continues. Vercel documents `from` (an opaque token) on `/v10`, and
/// `/v9` pages with `until` (a timestamp).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Paging {
    #[default]
    Documented,
    /// An older `/v10`: numeric cursors, `from` ignored; `/v9` honours `until`.
    UntilOnly,
    /// Every cursor is ignored: each request returns the first page again.
    IgnoresCursor,
}

/// The scopes an integration asks for in the Integration Console; `Sim::set_scopes` narrows them.
pub const DEFAULT_SCOPES: [&str; 5] =
    ["read:project", "read-write:project-env-vars", "read:team", "read:user", "read-write:integration-configuration"];

pub(crate) struct Code {
    pub configuration_id: String,
    pub issued: SystemTime,
    pub used: bool,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub accounts: Vec<Account>,
    pub projects: Vec<Project>,
    pub env: HashMap<String, Vec<EnvVar>>,
    pub codes: HashMap<String, Code>,
    pub tokens: HashMap<String, String>,
    pub installations: Vec<Installation>,
    pub calls: Vec<CallRecord>,
    pub exchanges: usize,
    /// Env writes per account in the current 60 s window: (window start in s, count).
    pub env_rate: HashMap<String, (i64, u32)>,
    pub faults: Vec<Fault>,
    pub deliveries: Vec<Delivery>,
    pub last_event_at: i64,
    pub quirks: Quirks,
    pub scopes: Vec<String>,
    /// Native integrations (see `marketplace`).
    pub market: crate::market_records::Market,
}

/// An answer forced on the next matching request, as a flaky or rate-limiting Vercel would give.
#[derive(Clone, Debug)]
pub struct Fault {
    pub method: String,
    pub path_prefix: String,
    /// The answer to give instead, or `None` to serve the call and then hold the answer.
    pub answer: Option<Canned>,
    pub delay: std::time::Duration,
}

/// A forced answer: a status with Vercel's error body unless `body` says otherwise.
#[derive(Clone, Debug, Default)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// Shared simulator state; cheap to clone.
#[derive(Clone)]
pub struct Sim {
    pub(crate) config: Arc<SimConfig>,
    inner: Arc<Mutex<Inner>>,
    /// The Marketplace's OIDC issuer (see `oidc`).
    oidc: Arc<crate::oidc::Issuer>,
}

/// What the dashboard and tests read: a consistent copy of the state.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub accounts: Vec<Account>,
    pub installations: Vec<Installation>,
    /// Env vars per project id, only for projects that have some.
    pub env: HashMap<String, Vec<EnvVar>>,
    pub project_names: HashMap<String, String>,
    pub calls: Vec<CallRecord>,
    pub exchanges: usize,
    /// The integration's Configuration URL: the dashboard's Configure buttons open it.
    pub configuration_url: String,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

/// A new variable's `createdAt`: later than every other in its project, so the list's
/// timestamp cursor never splits two variables made in the same millisecond.
pub(crate) fn next_env_stamp(vars: &[EnvVar]) -> i64 {
    now_ms().max(vars.iter().map(|v| v.created_at).max().unwrap_or(0) + 1)
}

pub(crate) fn random_id(prefix: &str, len: usize) -> String {
    let tail: String = rand::thread_rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect();
    format!("{prefix}{tail}")
}

fn seed_accounts() -> Vec<Account> {
    vec![
        Account {
            id: crate::PERSONAL_USER_ID.into(),
            name: "Alice Example".into(),
            slug: "alice".into(),
            email: Some("alice@example.com".into()),
            is_team: false,
            hobby: false,
            installer: crate::PERSONAL_USER_ID.into(),
        },
        Account {
            id: crate::TEAM_ID.into(),
            name: "Acme Robotics".into(),
            slug: "acme".into(),
            email: None,
            is_team: true,
            hobby: false,
            installer: crate::PERSONAL_USER_ID.into(),
        },
        Account {
            id: crate::HOBBY_TEAM_ID.into(),
            name: "Bob's projects".into(),
            slug: "bob".into(),
            email: None,
            is_team: true,
            hobby: true,
            installer: crate::HOBBY_USER_ID.into(),
        },
    ]
}

const FRAMEWORKS: [&str; 4] = ["nextjs", "sveltekit", "astro", "remix"];

impl Sim {
    pub fn new(config: Arc<SimConfig>) -> Self {
        let mut inner = Inner {
            accounts: seed_accounts(),
            scopes: DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
            ..Inner::default()
        };
        let base = now_ms() - 1_000_000;
        let seed = [
            (crate::PERSONAL_USER_ID, crate::PERSONAL_PROJECTS, "alice"),
            (crate::TEAM_ID, crate::TEAM_PROJECTS, "acme"),
            (crate::HOBBY_TEAM_ID, 2, "bob"),
        ];
        for (account, count, stem) in seed {
            for n in 0..count {
                // Distinct timestamps: pagination walks `updatedAt` like Vercel's cursors.
                let updated = base + (count - n) as i64 * 1000;
                // One of Alice's projects is old enough to have a legacy id, as Vercel's docs show.
                let id = match (stem, n) {
                    ("alice", 1) => crate::LEGACY_PROJECT_ID.to_owned(),
                    _ => format!("prj_{stem}{n:03}"),
                };
                inner.projects.push(Project {
                    id,
                    name: format!("{stem}-app-{n:03}"),
                    framework: Some(FRAMEWORKS[n % FRAMEWORKS.len()].into()),
                    account_id: account.into(),
                    created_at: updated - 500,
                    updated_at: updated,
                });
            }
        }
        let oidc = Arc::new(crate::oidc::Issuer::new(config.public_url.trim_end_matches('/')));
        Self { config, inner: Arc::new(Mutex::new(inner)), oidc }
    }

    /// The Marketplace's OIDC issuer: its signing keys and JWKS.
    pub fn oidc(&self) -> &Arc<crate::oidc::Issuer> {
        &self.oidc
    }

    /// The issuer's URL, `iss` in every token: the simulator's own origin, as Vercel's is
    /// `https://marketplace.vercel.com`.
    pub fn issuer_url(&self) -> String {
        self.oidc.url().to_owned()
    }

    /// A token for a user of an installation, as Vercel sends with a Partner API call on that
    /// user's behalf: every documented claim, `aud` the integration's client id.
    pub fn user_token(&self, installation_id: &str, user_id: &str, role: &str) -> String {
        self.oidc.mint(&self.issuer_url(), self.user_claims(installation_id, user_id, role))
    }

    /// Every claim a user token carries (native-protocol.md 1.2).
    pub fn user_claims(&self, installation_id: &str, user_id: &str, role: &str) -> serde_json::Value {
        let mut claims = self.system_claims(installation_id);
        let sub = format!("{}:user:{user_id}", claims["sub"].as_str().unwrap_or_default());
        let user = serde_json::json!({
            "sub": sub,
            "user_id": user_id,
            "user_role": role,
            "user_email": format!("{user_id}@sim.example"),
            "user_name": user_id,
        });
        if let (Some(claims), Some(user)) = (claims.as_object_mut(), user.as_object()) {
            claims.extend(user.clone());
        }
        claims
    }

    /// A token for the system (no user), as Vercel sends for background calls.
    pub fn system_token(&self, installation_id: &str) -> String {
        self.oidc.mint(&self.issuer_url(), self.system_claims(installation_id))
    }

    fn system_claims(&self, installation_id: &str) -> serde_json::Value {
        let account_id = format!("acc_{installation_id}");
        serde_json::json!({
            "aud": self.config.client_id,
            "type": "access_token",
            "account_id": account_id,
            "sub": format!("account:{account_id}"),
            "installation_id": installation_id,
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock only happens in a broken test; keep serving.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn snapshot(&self) -> Snapshot {
        let inner = self.lock();
        let project_names = inner
            .projects
            .iter()
            .filter(|p| inner.env.get(&p.id).is_some_and(|e| !e.is_empty()))
            .map(|p| (p.id.clone(), p.name.clone()))
            .collect();
        Snapshot {
            accounts: inner.accounts.clone(),
            installations: inner.installations.clone(),
            env: inner.env.iter().filter(|(_, vars)| !vars.is_empty()).map(|(k, v)| (k.clone(), v.clone())).collect(),
            project_names,
            calls: inner.calls.clone(),
            exchanges: inner.exchanges,
            configuration_url: self.configuration_url(),
        }
    }

    /// The Redirect URL's origin with `/configure`, as the integration would register it.
    pub fn configuration_url(&self) -> String {
        match url::Url::parse(&self.config.redirect_url) {
            Ok(url) => format!("{}/configure", url.origin().ascii_serialization()),
            Err(_) => String::new(),
        }
    }

    /// The value of an env var as a deployment would see it (tests check what was written).
    pub fn env_value(&self, project_id: &str, key: &str, target: &str) -> Option<String> {
        self.lock().env.get(project_id).and_then(|vars| {
            vars.iter().find(|v| v.key == key && v.target.iter().any(|t| t == target)).map(|v| v.value.clone())
        })
    }

    /// Starts a marketplace installation for an account and returns the Redirect URL the popup opens.
    pub fn begin_install(&self, account_id: &str, source: &str) -> Option<String> {
        self.begin(&Begin { account_id, source, ..Begin::default() })
    }

    /// What Vercel does before it opens the Redirect URL: find or create the installation, issue a
    /// code, and build the URL with the parameters of the flow.
    pub fn begin(&self, begin: &Begin<'_>) -> Option<String> {
        let mut inner = self.lock();
        let account = inner.accounts.iter().find(|a| a.id == begin.account_id)?.clone();
        let team_id = account.is_team.then(|| account.id.clone());
        let callback_team = team_id.clone().filter(|_| !inner.quirks.callback_omits_team);
        let active = inner.installations.iter().position(|i| i.team_id == team_id && i.status == "active");
        let configuration_id = match active {
            // The Deploy Button sends the scope's most recent existing installation.
            // The Deploy Button, and an external flow into an installed scope, continue the
            // scope's installation.
            Some(index) if begin.source == "deploy-button" || begin.source == "external" => {
                inner.installations[index].id.clone()
            }
            _ => {
                // One installation per scope: a reinstall replaces the previous one with a new id.
                if let Some(index) = active {
                    inner.installations[index].status = "removed".into();
                }
                let configuration_id = random_id("icfg_", 24);
                inner.installations.push(Installation {
                    id: configuration_id.clone(),
                    user_id: account.installer.clone(),
                    team_id: team_id.clone(),
                    status: "active".into(),
                    source: begin.source.into(),
                    completed_at: None,
                    created_at: now_ms(),
                    project_selection: if begin.projects.is_some() { "selected" } else { "all" }.into(),
                    projects: begin.projects.map(<[String]>::to_vec).unwrap_or_default(),
                });
                configuration_id
            }
        };
        if let Some(installation) = inner.installations.iter_mut().find(|i| i.id == configuration_id) {
            installation.completed_at = None;
            // A Deploy Button into an installation limited to some projects shares the new one.
            if let Some(project) = begin.current_project_id.filter(|p| !installation.may_see(p)) {
                installation.projects.push(project.to_owned());
            }
        }
        let code = random_id("", 32);
        inner.codes.insert(
            code.clone(),
            Code { configuration_id: configuration_id.clone(), issued: SystemTime::now(), used: false },
        );
        let next =
            format!("{}/integrations/tether/installed?configurationId={configuration_id}", self.config.public_url);
        let mut url = url::Url::parse(&self.config.redirect_url).ok()?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("code", &code);
            query.append_pair("configurationId", &configuration_id);
            query.append_pair("next", &next);
            if let Some(team) = &callback_team {
                query.append_pair("teamId", team);
            }
            query.append_pair("source", begin.source);
            if let Some(state) = begin.state {
                query.append_pair("state", state);
            }
            if let Some(project) = begin.current_project_id {
                query.append_pair("currentProjectId", project);
            }
            if let Some(external) = begin.external_id {
                query.append_pair("external-id", external);
            }
        }
        Some(url.into())
    }

    /// A Deploy Button's first step: a new project in the account, listed first.
    pub fn create_project(&self, account_id: &str) -> Option<Project> {
        let mut inner = self.lock();
        inner.accounts.iter().find(|a| a.id == account_id)?;
        let n = inner.projects.iter().filter(|p| p.account_id == account_id && p.name.starts_with("deployed-")).count();
        let now = now_ms();
        let project = Project {
            id: random_id("prj_", 20),
            name: format!("deployed-app-{n:02}"),
            framework: Some("nextjs".into()),
            account_id: account_id.into(),
            created_at: now,
            updated_at: now,
        };
        inner.projects.push(project.clone());
        drop(inner);
        self.emit("project.created", self.owner_payload(&project, serde_json::json!({})));
        Some(project)
    }

    pub(crate) fn complete(&self, configuration_id: &str) -> bool {
        let mut inner = self.lock();
        match inner.installations.iter_mut().find(|i| i.id == configuration_id) {
            Some(installation) => {
                installation.completed_at.get_or_insert_with(now_ms);
                true
            }
            None => false,
        }
    }

    /// The next request with this method and path prefix gets `status` instead of an answer.
    /// A 429 carries `X-RateLimit-Reset` one second ahead. Several calls queue several faults.
    pub fn fail_next(&self, method: &str, path_prefix: &str, status: u16) {
        self.answer_next(method, path_prefix, Canned { status, ..Canned::default() });
    }

    /// The next matching request gets exactly this answer (headers and body as given).
    pub fn answer_next(&self, method: &str, path_prefix: &str, answer: Canned) {
        self.lock().faults.push(Fault {
            method: method.into(),
            path_prefix: path_prefix.into(),
            answer: Some(answer),
            delay: Duration::ZERO,
        });
    }

    /// Turns on answers Vercel may give that the strict default does not.
    pub fn set_quirks(&self, change: impl FnOnce(&mut Quirks)) {
        change(&mut self.lock().quirks);
    }

    /// The scopes the integration was granted, e.g. without `read:team`.
    pub fn set_scopes(&self, scopes: &[&str]) {
        self.lock().scopes = scopes.iter().map(|s| s.to_string()).collect();
    }

    /// The next matching call is served (a code is spent, an env var written) but its answer is
    /// held for `delay`: the caller sees a lost or very late answer.
    pub fn stall_next(&self, method: &str, path_prefix: &str, delay: Duration) {
        self.lock().faults.push(Fault { method: method.into(), path_prefix: path_prefix.into(), answer: None, delay });
    }

    pub(crate) fn take_fault(&self, method: &str, path: &str) -> Option<Fault> {
        let mut inner = self.lock();
        let index = inner
            .faults
            .iter()
            .position(|f| f.method.eq_ignore_ascii_case(method) && path.starts_with(&f.path_prefix))?;
        Some(inner.faults.remove(index))
    }

    /// Every token handed out, so tests can look for it where it must not be.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.lock().tokens.keys().cloned().collect()
    }

    /// Adds a team with `projects` projects (`{id}-app-{n}`), for load and durability tests that
    /// need many scopes (each scope holds one installation at a time). Returns the project ids.
    pub fn add_team(&self, id: &str, name: &str, projects: usize) -> Vec<String> {
        let mut inner = self.lock();
        inner.accounts.push(Account {
            id: id.into(),
            name: name.into(),
            slug: id.into(),
            email: None,
            is_team: true,
            hobby: false,
            installer: crate::PERSONAL_USER_ID.into(),
        });
        let now = now_ms();
        (0..projects)
            .map(|n| {
                let project = Project {
                    id: format!("prj_{id}_{n}"),
                    name: format!("{id}-app-{n}"),
                    framework: None,
                    account_id: id.into(),
                    created_at: now - n as i64,
                    updated_at: now - n as i64,
                };
                inner.projects.push(project.clone());
                project.id
            })
            .collect()
    }

    /// An account's projects, most recently updated first.
    pub fn projects_of(&self, account_id: &str) -> Vec<Project> {
        let mut projects: Vec<Project> =
            self.lock().projects.iter().filter(|p| p.account_id == account_id).cloned().collect();
        projects.sort_by_key(|p| std::cmp::Reverse(p.updated_at));
        projects
    }

    /// Renames an account, as its owner would in Vercel's settings.
    pub fn rename_account(&self, account_id: &str, name: &str) -> bool {
        let mut inner = self.lock();
        match inner.accounts.iter_mut().find(|a| a.id == account_id) {
            Some(account) => {
                account.name = name.to_owned();
                true
            }
            None => false,
        }
    }

    /// Adds an env var by hand, as a user would in Vercel's dashboard.
    pub fn add_manual_env(&self, project_id: &str, key: &str, value: &str, target: &[&str]) {
        let mut inner = self.lock();
        let vars = inner.env.entry(project_id.into()).or_default();
        let now = next_env_stamp(vars);
        vars.push(EnvVar {
            id: random_id("env_", 16),
            key: key.into(),
            value: value.into(),
            kind: "plain".into(),
            target: target.iter().map(|t| t.to_string()).collect(),
            configuration_id: None,
            comment: None,
            created_at: now,
            updated_at: now,
        });
    }
}

/// The OIDC issuer's routes take it from the simulator's state.
impl axum::extract::FromRef<Sim> for Arc<crate::oidc::Issuer> {
    fn from_ref(sim: &Sim) -> Self {
        sim.oidc.clone()
    }
}
