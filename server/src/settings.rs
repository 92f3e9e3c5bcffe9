//! Settings: built-in defaults, then Leptos.toml, then `TETHER_*` environment variables. Secrets
//! come only from the environment. Everything is checked here, at start, with a message per
//! problem, so a bad deployment fails before it serves anything.

use std::{net::SocketAddr, path::PathBuf};

use serde::Deserialize;
use url::Url;

use crate::{seal::Sealer, secret::ClientSecret};

pub mod catalog;
pub mod products;
mod sources;

pub use sources::{GivenSetting, Origin};
use sources::{ProviderFile, Sources};

#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: SocketAddr,
    pub public_url: Url,
    pub database_url: crate::secret::DatabaseUrl,
    /// Pool size and whether migrations run at start.
    pub database: crate::store::Options,
    pub data_dir: PathBuf,
    pub site_root: PathBuf,
    pub log_json: bool,
    /// What loading the settings has to tell the operator once logging is set up (which needs
    /// the settings first).
    pub notices: Vec<String>,
    /// The settings someone gave (the rest are their defaults), for `server check-config`.
    pub given: Vec<GivenSetting>,
    /// Behind a load balancer: the header whose last address is the client's (rate limits).
    pub client_ip_header: Option<axum::http::HeaderName>,
    /// How many leading bits of an IPv6 address make one client for the rate limits.
    pub client_ipv6_prefix: u8,
    /// The most a whole request may take before it is answered 408.
    pub request_timeout: std::time::Duration,
    pub vercel: VercelSettings,
    pub provider: ProviderSettings,
    /// `TETHER_MODE=sandbox`: the simulator plays Vercel and the provider has demo resources.
    /// Always chosen explicitly, never inferred from a missing secret.
    pub sandbox: bool,
    pub sealer: Sealer,
    /// Opens `/metrics` and `/operator`; without it both stay closed.
    pub operator_token: Option<crate::secret::OperatorToken>,
    /// The keys that sign calls to an http provider (empty for the built-in one).
    pub provider_keys: Vec<crate::signing::SigningKey>,
    /// Native integrations: the products offered on Vercel's Marketplace, and their plans.
    pub products: Vec<products::Product>,
}

#[derive(Debug, Clone)]
pub struct VercelSettings {
    pub api_url: Url,
    pub dashboard_url: Url,
    pub client_id: String,
    pub client_secret: ClientSecret,
    /// Keys that verify webhook signatures: the client secret, and the previous one while
    /// Vercel rotates it.
    pub webhook_secrets: Vec<ClientSecret>,
    pub integration_slug: String,
    /// The only origin `next` may point to.
    pub next_origin: Url,
    /// Native integrations: who signs the Partner API's tokens (`iss`).
    pub marketplace_issuer: Url,
}

impl VercelSettings {
    /// The Redirect URL registered with Vercel; the exchange must repeat it exactly.
    pub fn redirect_url(public_url: &Url) -> String {
        format!("{}/callback", public_url.as_str().trim_end_matches('/'))
    }
}

#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// `builtin`: resources in Tether's own database; `http`: the vendor's system, over the
    /// contract in docs/provider-contract.yaml.
    pub kind: ProviderKind,
    /// With `kind = "http"`: the contract's base URL (`TETHER_PROVIDER_URL`).
    pub base_url: Option<String>,
    /// With `kind = "http"`, optional: the vendor's sign-in page for account linking
    /// (`TETHER_PROVIDER_ACCOUNT_LINK_URL`). Without it the Vercel owner id is the account.
    pub account_link_url: Option<String>,
    /// The vendor's name as the popup shows it.
    pub name: String,
    pub region: String,
    /// `{id}` is replaced with the resource id.
    pub resource_url: String,
    pub env: Vec<EnvTemplate>,
    /// What happens to a resource Tether created once nothing links it any more (its last
    /// project disconnected, or its installation removed): kept for the customer (the default),
    /// or released. What the user only connected is never released.
    pub on_uninstall: OnUninstall,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProviderKind {
    #[default]
    Builtin,
    Http,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnUninstall {
    #[default]
    Keep,
    Release,
}

/// One env var written for every linked project. `{url}`, `{api_key}`, `{name}` and `{region}`
/// are filled from the resource.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EnvTemplate {
    pub key: String,
    pub value: String,
    /// Secret values are `sensitive` on production and preview and `encrypted` on development.
    #[serde(default)]
    pub secret: bool,
    /// Which Vercel environments get it; all three unless narrowed.
    #[serde(default = "all_targets")]
    pub targets: Vec<Target>,
    /// What the variable is for, as the project's settings at Vercel show it beside the key (at
    /// most [`MAX_ENV_COMMENT_CHARS`]). Literal text: a comment is readable by anyone who can
    /// see the project, so no value is ever put in one.
    #[serde(default)]
    pub comment: Option<String>,
}

/// Vercel's limit on an env var's `comment`.
pub const MAX_ENV_COMMENT_CHARS: usize = 500;

impl EnvTemplate {
    /// Its comment, or one naming the vendor when the operator gave none: every variable Tether
    /// writes says where it came from.
    pub fn comment_or_default(&self, vendor: &str) -> String {
        self.comment.clone().unwrap_or_else(|| default_env_comment(vendor))
    }
}

/// The comment of a variable whose template or vendor gave none.
pub fn default_env_comment(vendor: &str) -> String {
    format!("Set by the {vendor} integration for the resource connected to this project.")
}

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Production,
    Preview,
    Development,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Production => "production",
            Target::Preview => "preview",
            Target::Development => "development",
        }
    }
}

/// A name Vercel takes for an env var: `[A-Za-z_][A-Za-z0-9_]*`, at most 256 bytes. The same
/// rule for the built-in templates, a vendor's answers and the conformance check.
pub fn valid_env_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 256
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !key.starts_with(|c: char| c.is_ascii_digit())
}

pub fn all_targets() -> Vec<Target> {
    vec![Target::Production, Target::Preview, Target::Development]
}

/// The shortest operator token accepted: guessing one must be out of reach.
pub const MIN_OPERATOR_TOKEN_CHARS: usize = 32;

#[derive(Debug, thiserror::Error)]
#[error("configuration is invalid:\n  - {}", .0.join("\n  - "))]
pub struct ConfigError(pub Vec<String>);

impl Settings {
    /// Loads from `TETHER_CONFIG` (default `Leptos.toml` when it exists) and the process
    /// environment, with `flags` (by variable name) over both.
    pub fn load(flags: &std::collections::HashMap<&str, String>) -> Result<Self, ConfigError> {
        // Empty values are passed on: a secret set to "" must be an error, not "unset".
        let env = |key: &str| flags.get(key).cloned().or_else(|| std::env::var(key).ok());
        let given = env(catalog::CONFIG.env).filter(|p| !p.is_empty());
        let path = given.clone().unwrap_or_else(|| catalog::CONFIG.default.shown());
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(_) if given.is_none() => None,
            Err(error) => return Err(ConfigError(vec![format!("cannot read {path}: {error}")])),
        };
        Self::from_sources(text.as_deref(), env)
    }

    /// The same rules over given sources, so tests can build settings without touching the
    /// process. Every problem is reported, not only the first.
    pub fn from_sources(file: Option<&str>, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let (sources, parts) = Sources::read(file, &env).map_err(ConfigError)?;
        let mut problems = Vec::new();
        let sandbox = mode(&sources, &mut problems);
        let server = ServerPart::read(&sources, sandbox, &mut problems);
        let vercel = VercelPart::read(&sources, sandbox, &mut problems);
        let credentials = Credentials::read(&sources);
        credentials.check(sandbox, &mut problems);
        let sealer = sealer(&sources, sandbox, &server.data_dir, &mut problems);
        let (provider, provider_keys) = provider(&sources, parts.provider, sandbox, &mut problems);
        let products =
            products::checked(parts.native.products, &vercel.integration_slug, &provider.name, &mut problems);
        let operator_token = sources.value(&catalog::OPERATOR_TOKEN, &[], &mut problems);
        if !problems.is_empty() {
            return Err(ConfigError(problems));
        }
        let (Some(addr), Some(public_url), Some(database_url), Some(vercel), Some((sealer, notices))) =
            (server.addr, server.public_url, server.database_url, vercel.settings(sandbox, credentials), sealer)
        else {
            unreachable!("every missing value pushed a problem");
        };
        Ok(Self {
            addr,
            public_url,
            database_url,
            database: server.database,
            site_root: server.site_root,
            data_dir: server.data_dir,
            log_json: server.log_json,
            notices,
            given: sources.given_settings(),
            client_ip_header: server.client_ip_header,
            client_ipv6_prefix: server.client_ipv6_prefix,
            request_timeout: server.request_timeout,
            vercel,
            provider,
            sandbox,
            sealer,
            provider_keys,
            operator_token,
            products,
        })
    }

    pub fn redirect_url(&self) -> String {
        VercelSettings::redirect_url(&self.public_url)
    }

    /// Cookies get `Secure` and the `__Host-` prefix only where the browser accepts them.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

/// `TETHER_MODE`, which is never guessed: unset is a problem of its own.
fn mode(sources: &Sources<'_>, problems: &mut Vec<String>) -> bool {
    if sources.given(&catalog::MODE).is_none() {
        problems.push(
            "TETHER_MODE is not set: choose `production` (talk to Vercel) or `sandbox` (the bundled simulator plays \
             Vercel); it is never guessed from which secrets are present"
                .into(),
        );
        return false;
    }
    sources.value(&catalog::MODE, &[], problems).unwrap_or(false)
}

/// Where Tether listens, stores and logs. Each `None` has pushed a problem.
struct ServerPart {
    addr: Option<SocketAddr>,
    public_url: Option<Url>,
    data_dir: PathBuf,
    site_root: PathBuf,
    log_json: bool,
    client_ip_header: Option<axum::http::HeaderName>,
    client_ipv6_prefix: u8,
    request_timeout: std::time::Duration,
    database_url: Option<crate::secret::DatabaseUrl>,
    database: crate::store::Options,
}

impl ServerPart {
    fn read(sources: &Sources<'_>, sandbox: bool, problems: &mut Vec<String>) -> Self {
        use catalog::*;
        let addr_text = sources.text(&ADDR);
        let public_url = sources.value(&PUBLIC_URL, &[("{addr}", &addr_text)], problems);
        if let Some(url) = &public_url {
            // The Redirect URL and every link are built on it: nothing may ride along.
            if !url.username().is_empty()
                || url.password().is_some()
                || url.query().is_some()
                || url.fragment().is_some()
            {
                problems.push(
                    "TETHER_PUBLIC_URL must be a bare origin and path: no user, password, query or fragment".into(),
                );
            }
        }
        require_https(&PUBLIC_URL, public_url.as_ref(), sandbox, "Vercel sends codes to it", problems);
        let data_dir = sources.value(&DATA_DIR, &[], problems).unwrap_or_default();
        let data_dir_text = data_dir.display().to_string();
        let database_url = sources.value(&DATABASE_URL, &[("{data_dir}", &data_dir_text)], problems);
        Self {
            addr: sources.value(&ADDR, &[], problems),
            public_url,
            data_dir,
            site_root: sources.value(&SITE_ROOT, &[], problems).unwrap_or_default(),
            log_json: sources.value(&LOG_FORMAT, &[], problems).unwrap_or(false),
            client_ip_header: sources.value(&CLIENT_IP_HEADER, &[], problems),
            client_ipv6_prefix: sources.value(&CLIENT_IPV6_PREFIX, &[], problems).unwrap_or(64),
            request_timeout: sources.value(&REQUEST_TIMEOUT_SECS, &[], problems).unwrap_or_default(),
            database_url,
            database: crate::store::Options {
                max_connections: sources.value(&DATABASE_MAX_CONNECTIONS, &[], problems).unwrap_or(1),
                migrate: sources.value(&MIGRATE_AT_START, &[], problems).unwrap_or(true),
            },
        }
    }
}

/// Outside the sandbox only https will do, except on this machine's own loopback address (local
/// tests against a Vercel double): codes, tokens and secrets travel on these.
fn require_https(
    setting: &catalog::Setting<Url>,
    url: Option<&Url>,
    sandbox: bool,
    why: &str,
    problems: &mut Vec<String>,
) {
    if let Some(url) = url.filter(|url| !sandbox && url.scheme() != "https" && !is_loopback(url)) {
        problems.push(format!("{} must be https outside sandbox mode ({why}), got `{url}`", setting.env));
    }
}

/// Vercel's side: where its API and dashboard are, or the simulator that plays them.
struct VercelPart {
    api_url: Option<Url>,
    dashboard_url: Option<Url>,
    simulator_url: Option<Url>,
    marketplace_issuer: Option<Url>,
    integration_slug: String,
}

impl VercelPart {
    fn read(sources: &Sources<'_>, sandbox: bool, problems: &mut Vec<String>) -> Self {
        use catalog::*;
        let api_url = sources.value(&VERCEL_API_URL, &[], problems);
        let dashboard_url = sources.value(&VERCEL_DASHBOARD_URL, &[], problems);
        let why = "Tether sends the client secret and tokens to it";
        require_https(&VERCEL_API_URL, api_url.as_ref(), sandbox, why, problems);
        require_https(&VERCEL_DASHBOARD_URL, dashboard_url.as_ref(), sandbox, "users are sent back to it", problems);
        let marketplace_issuer = sources.value(&NATIVE_ISSUER, &[], problems);
        let why = "its keys decide which Partner API calls are Vercel's";
        require_https(&NATIVE_ISSUER, marketplace_issuer.as_ref(), sandbox, why, problems);
        Self {
            api_url,
            dashboard_url,
            marketplace_issuer,
            simulator_url: sources.value(&SIMULATOR_URL, &[], problems),
            integration_slug: sources.value(&INTEGRATION_SLUG, &[], problems).unwrap_or_default(),
        }
    }

    /// In the sandbox the simulator is Vercel, with its published credentials.
    fn settings(self, sandbox: bool, credentials: Credentials) -> Option<VercelSettings> {
        let integration_slug = self.integration_slug;
        if sandbox {
            let simulator_url = self.simulator_url?;
            return Some(VercelSettings {
                api_url: simulator_url.clone(),
                dashboard_url: simulator_url.clone(),
                client_id: vercel_sim::DEFAULT_CLIENT_ID.into(),
                client_secret: ClientSecret::new(vercel_sim::DEFAULT_CLIENT_SECRET),
                webhook_secrets: vec![ClientSecret::new(vercel_sim::DEFAULT_CLIENT_SECRET)],
                integration_slug,
                marketplace_issuer: simulator_url.clone(),
                next_origin: simulator_url,
            });
        }
        let Credentials { client_id, client_secret, previous_secret, .. } = credentials;
        let dashboard_url = self.dashboard_url?;
        Some(VercelSettings {
            api_url: self.api_url?,
            next_origin: dashboard_url.clone(),
            dashboard_url,
            client_id: client_id.unwrap_or_default(),
            webhook_secrets: [client_secret.clone(), previous_secret]
                .into_iter()
                .flatten()
                .map(ClientSecret::new)
                .collect(),
            client_secret: ClientSecret::new(client_secret.unwrap_or_default()),
            integration_slug,
            marketplace_issuer: self.marketplace_issuer?,
        })
    }
}

/// The seal keys, or in the sandbox a generated key kept beside the database; with what the
/// operator should hear about it.
fn sealer(
    sources: &Sources<'_>,
    sandbox: bool,
    data_dir: &std::path::Path,
    problems: &mut Vec<String>,
) -> Option<(Sealer, Vec<String>)> {
    let mut notices = Vec::new();
    let sealer = match sources.given(&catalog::SEAL_KEYS) {
        Some((text, _)) if !text.is_empty() => sources.value(&catalog::SEAL_KEYS, &[], problems),
        None if sandbox => match sandbox_sealer(data_dir, &mut notices) {
            Ok(sealer) => Some(sealer),
            Err(problem) => {
                problems.push(problem);
                None
            }
        },
        // Already reported by the credentials check.
        _ => None,
    };
    sealer.map(|sealer| (sealer, notices))
}

/// The provider: the file's templates with the declared settings over them, checked together
/// (an http provider needs its URL and keys; the built-in one refuses what it would ignore).
fn provider(
    sources: &Sources<'_>,
    file: ProviderFile,
    sandbox: bool,
    problems: &mut Vec<String>,
) -> (ProviderSettings, Vec<crate::signing::SigningKey>) {
    use catalog::*;
    let provider = ProviderSettings {
        kind: sources.value(&PROVIDER_KIND, &[], problems).unwrap_or_default(),
        base_url: sources.value(&PROVIDER_URL, &[], problems),
        account_link_url: sources.value(&PROVIDER_ACCOUNT_LINK_URL, &[], problems),
        on_uninstall: sources.value(&PROVIDER_ON_UNINSTALL, &[], problems).unwrap_or_default(),
        name: file.name,
        region: file.region,
        resource_url: file.resource_url,
        env: file.env,
    };
    let checked_url = |setting: &Setting<String>, url: Option<&str>, why: &str, problems: &mut Vec<String>| {
        match url.map(Url::parse)? {
            Err(error) => problems.push(format!("{} is not a URL: {error}", setting.env)),
            Ok(url) if url.scheme() != "https" && !sandbox && !is_loopback(&url) => {
                problems.push(format!("{} must be https outside sandbox mode{why}", setting.env))
            }
            Ok(_) => {}
        }
        Some(())
    };
    if provider.account_link_url.is_some() && provider.kind != ProviderKind::Http {
        problems.push(
            "account linking (TETHER_PROVIDER_ACCOUNT_LINK_URL) needs the http provider: its tickets are signed with \
             TETHER_PROVIDER_SECRETS"
                .into(),
        );
    } else {
        checked_url(&PROVIDER_ACCOUNT_LINK_URL, provider.account_link_url.as_deref(), "", problems);
    }
    let secrets = sources.given(&PROVIDER_SECRETS);
    let mut provider_keys = Vec::new();
    match provider.kind {
        ProviderKind::Http => {
            let why = ": the answers carry credentials";
            if checked_url(&PROVIDER_URL, provider.base_url.as_deref(), why, problems).is_none() {
                problems.push("the http provider needs TETHER_PROVIDER_URL (or [provider] base_url)".into());
            }
            // Fail closed: an http provider never runs with unsigned requests.
            if secrets.is_none_or(|(text, _)| text.trim().is_empty()) {
                problems.push(
                    "the http provider needs TETHER_PROVIDER_SECRETS (id:whsec_…): Tether signs every call".into(),
                );
            } else {
                provider_keys = sources.value(&PROVIDER_SECRETS, &[], problems).unwrap_or_default();
            }
        }
        // Settings of the http provider that the built-in one would silently ignore: an
        // operator who set them meant something else.
        ProviderKind::Builtin => {
            let ignored = [(PROVIDER_SECRETS.env, secrets.is_some()), (PROVIDER_URL.env, provider.base_url.is_some())];
            for (name, _) in ignored.iter().filter(|(_, set)| *set) {
                problems.push(format!(
                    "{name} is set but the provider is the built-in one, which would ignore it: set \
                     TETHER_PROVIDER_KIND=http, or unset {name}"
                ));
            }
        }
    }
    check_templates(&provider.env, problems);
    (provider, provider_keys)
}

fn check_templates(templates: &[EnvTemplate], problems: &mut Vec<String>) {
    if templates.is_empty() {
        problems.push("[provider] must list at least one env var".into());
    }
    for template in templates {
        if template.targets.is_empty() {
            problems.push(format!("[provider.env] `{}` has no targets", template.key));
        }
        if !valid_env_key(&template.key) {
            problems.push(format!("[provider.env] key `{}` is not a valid env var name", template.key));
        }
        if template.comment.as_ref().is_some_and(|c| c.chars().count() > MAX_ENV_COMMENT_CHARS) {
            problems.push(format!(
                "[provider.env] `{}`: the comment is over {MAX_ENV_COMMENT_CHARS} characters, Vercel's limit",
                template.key
            ));
        }
    }
}

/// The three values that make a production deployment, and the previous client secret, as
/// given: an empty value counts as given (and wrong), so a blanked secret never slips into a
/// default.
struct Credentials {
    client_id: Option<String>,
    client_secret: Option<String>,
    seal_keys: Option<String>,
    /// Optional even in production, but held to the current secret's rules when set: it
    /// verifies webhooks just as well, so a weak one opens the same door.
    previous_secret: Option<String>,
}

impl Credentials {
    fn read(sources: &Sources<'_>) -> Self {
        let given = |about: &catalog::About| sources.given(about).map(|(text, _)| text);
        Self {
            client_id: given(&catalog::VERCEL_CLIENT_ID),
            client_secret: given(&catalog::VERCEL_CLIENT_SECRET),
            seal_keys: given(&catalog::SEAL_KEYS),
            previous_secret: given(&catalog::VERCEL_CLIENT_SECRET_PREVIOUS),
        }
    }

    /// Sandbox takes none of them; production (or any one of them set) needs all three,
    /// non-empty, and never the simulator's published secret.
    fn check(&self, sandbox: bool, problems: &mut Vec<String>) {
        use catalog::{SEAL_KEYS, VERCEL_CLIENT_ID, VERCEL_CLIENT_SECRET, VERCEL_CLIENT_SECRET_PREVIOUS as PREVIOUS};
        let required = [
            (VERCEL_CLIENT_ID.env, &self.client_id),
            (VERCEL_CLIENT_SECRET.env, &self.client_secret),
            (SEAL_KEYS.env, &self.seal_keys),
        ];
        if sandbox {
            for (name, value) in required.into_iter().chain([(PREVIOUS.env, &self.previous_secret)]) {
                if value.is_some() {
                    problems.push(format!(
                        "{name} is set but TETHER_MODE is sandbox: set TETHER_MODE=production to use Vercel"
                    ));
                }
            }
            return;
        }
        for (name, value) in required {
            match value.as_deref() {
                None => problems.push(format!("{name} is required in production mode")),
                Some("") => problems.push(format!("{name} is set but empty")),
                Some(_) => {}
            }
        }
        if self.previous_secret.as_deref() == Some("") {
            problems.push(format!("{} is set but empty: unset it, or give the old secret", PREVIOUS.env));
        }
        for (name, value) in [(VERCEL_CLIENT_SECRET.env, &self.client_secret), (PREVIOUS.env, &self.previous_secret)] {
            if value.as_deref() == Some(vercel_sim::DEFAULT_CLIENT_SECRET) {
                problems.push(format!(
                    "{name} is the simulator's published secret: anyone could sign webhooks with it; use a Client \
                     Secret from Vercel's Integration Console"
                ));
            }
        }
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Sandbox mode keeps a generated key beside the database so sealed rows survive restarts.
fn sandbox_sealer(data_dir: &std::path::Path, notices: &mut Vec<String>) -> Result<Sealer, String> {
    let path = data_dir.join("sandbox-seal.key");
    if crate::store::private_dir(data_dir).map_err(|e| e.to_string())? {
        notices.push(format!("the data directory {} was open to other users: now 0700", data_dir.display()));
    }
    let spec = match std::fs::read_to_string(&path) {
        Ok(spec) => spec,
        Err(_) => {
            let spec = Sealer::generate_spec("sandbox");
            crate::store::private_file(&path)
                .and_then(|_| std::fs::write(&path, &spec))
                .map_err(|e| format!("cannot write the sandbox seal key to {}: {e}", path.display()))?;
            notices.push(format!(
                "sandbox mode: generated a development seal key in {}; set TETHER_SEAL_KEYS in production",
                path.display()
            ));
            spec
        }
    };
    Sealer::from_spec(spec.trim()).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(file: Option<&str>, vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let dir = std::env::temp_dir().join(format!("tether-config-{}", rand::random::<u64>()));
        let dir_text = dir.display().to_string();
        Settings::from_sources(file, move |k| {
            if k == "TETHER_DATA_DIR" {
                return Some(dir_text.clone());
            }
            vars.get(k).cloned()
        })
    }

    #[test]
    fn sandbox_mode_runs_against_the_simulator() {
        let s = load(None, &[("TETHER_MODE", "sandbox")]).unwrap();
        assert!(s.sandbox);
        assert_eq!(s.vercel.next_origin.as_str(), "http://127.0.0.1:3100/");
        assert_eq!(s.redirect_url(), "http://127.0.0.1:3000/callback");
    }

    #[test]
    fn the_database_url_picks_the_backend_and_its_password_never_prints() {
        let url = "postgres://tether:hunter2-db@db.internal:5432/tether";
        let s = load(None, &[("TETHER_MODE", "sandbox"), ("TETHER_DATABASE_URL", url)]).unwrap();
        assert_eq!(crate::store::Engine::of_url(s.database_url.expose()).unwrap(), crate::store::Engine::Postgres);
        assert!(!format!("{s:?}").contains("hunter2-db"), "the settings print without the password");
        let err = load(None, &[("TETHER_MODE", "sandbox"), ("TETHER_DATABASE_URL", "mysql://x/y")]).unwrap_err();
        assert!(err.to_string().contains("sqlite:// or postgres://"), "{err}");
    }

    #[test]
    fn env_beats_file_beats_default() {
        let file = "[server]\naddr = \"127.0.0.1:4000\"\npublic_url = \"https://tether.example\"\n";
        let s = load(Some(file), &[("TETHER_ADDR", "127.0.0.1:5000"), ("TETHER_MODE", "sandbox")]).unwrap();
        assert_eq!(s.addr.port(), 5000);
        assert_eq!(s.public_url.as_str(), "https://tether.example/");
        assert!(s.secure_cookies());
    }

    #[test]
    fn the_mode_is_never_guessed_from_the_secrets() {
        for vars in [&[][..], &[("TETHER_VERCEL_CLIENT_SECRET", "s")][..], &[("TETHER_MODE", "prod")][..]] {
            let err = load(None, vars).unwrap_err().to_string();
            assert!(err.contains("TETHER_MODE"), "{vars:?}: {err}");
        }
        let err = load(Some("[server]\nmode = \"production\"\n"), &[]).unwrap_err().to_string();
        assert!(err.contains("TETHER_VERCEL_CLIENT_SECRET is required"), "the file's mode counts: {err}");
    }

    #[test]
    fn production_needs_every_credential_non_empty() {
        let err = load(None, &[("TETHER_MODE", "production")]).unwrap_err().to_string();
        for name in ["TETHER_VERCEL_CLIENT_ID", "TETHER_VERCEL_CLIENT_SECRET", "TETHER_SEAL_KEYS"] {
            assert!(err.contains(&format!("{name} is required")), "{err}");
        }
        let keys = Sealer::generate_spec("k1");
        let blank = [
            ("TETHER_MODE", "production"),
            ("TETHER_VERCEL_CLIENT_SECRET", ""),
            ("TETHER_VERCEL_CLIENT_ID", "oac_1"),
            ("TETHER_SEAL_KEYS", &keys),
        ];
        let err = load(None, &blank).unwrap_err().to_string();
        assert!(err.contains("TETHER_VERCEL_CLIENT_SECRET is set but empty"), "{err}");
        let published = [
            ("TETHER_MODE", "production"),
            ("TETHER_VERCEL_CLIENT_SECRET", vercel_sim::DEFAULT_CLIENT_SECRET),
            ("TETHER_VERCEL_CLIENT_ID", "oac_1"),
            ("TETHER_SEAL_KEYS", &keys),
        ];
        let err = load(None, &published).unwrap_err().to_string();
        assert!(err.contains("simulator's published secret"), "{err}");
        let s = load(
            None,
            &[
                ("TETHER_MODE", "production"),
                ("TETHER_VERCEL_CLIENT_SECRET", "s"),
                ("TETHER_VERCEL_CLIENT_ID", "oac_1"),
                ("TETHER_SEAL_KEYS", &keys),
            ],
        )
        .unwrap();
        assert!(!s.sandbox);
        assert_eq!(s.vercel.next_origin.as_str(), "https://vercel.com/");
    }

    #[test]
    fn sandbox_takes_no_credentials() {
        let keys = Sealer::generate_spec("k1");
        let err = load(None, &[("TETHER_MODE", "sandbox"), ("TETHER_SEAL_KEYS", &keys)]).unwrap_err().to_string();
        assert!(err.contains("TETHER_SEAL_KEYS is set but TETHER_MODE is sandbox"), "{err}");
    }

    #[test]
    fn production_public_url_must_be_https_except_on_loopback() {
        let keys = Sealer::generate_spec("k1");
        let production = |public_url: &str| {
            load(
                None,
                &[
                    ("TETHER_MODE", "production"),
                    ("TETHER_VERCEL_CLIENT_SECRET", "s"),
                    ("TETHER_VERCEL_CLIENT_ID", "oac_1"),
                    ("TETHER_SEAL_KEYS", &keys),
                    ("TETHER_PUBLIC_URL", public_url),
                ],
            )
        };
        let err = production("http://tether.example.com").unwrap_err().to_string();
        assert!(err.contains("TETHER_PUBLIC_URL must be https"), "{err}");
        for ok in ["https://tether.example.com", "http://127.0.0.1:3000", "http://localhost:3000", "http://[::1]:3000"]
        {
            assert!(production(ok).is_ok(), "{ok} refused");
        }
        let sandbox = [("TETHER_MODE", "sandbox"), ("TETHER_PUBLIC_URL", "http://tether.example.com")];
        assert!(load(None, &sandbox).is_ok(), "sandbox allows http");
    }

    fn production_with(extra: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let keys = Sealer::generate_spec("k1");
        let mut vars = vec![
            ("TETHER_MODE", "production"),
            ("TETHER_VERCEL_CLIENT_SECRET", "s"),
            ("TETHER_VERCEL_CLIENT_ID", "oac_1"),
            ("TETHER_SEAL_KEYS", keys.as_str()),
        ];
        vars.extend_from_slice(extra);
        load(None, &vars)
    }

    #[test]
    fn the_previous_client_secret_follows_the_current_ones_rules() {
        let previous = "TETHER_VERCEL_CLIENT_SECRET_PREVIOUS";
        let err = production_with(&[(previous, "")]).unwrap_err().to_string();
        assert!(err.contains(&format!("{previous} is set but empty")), "{err}");
        let err = production_with(&[(previous, vercel_sim::DEFAULT_CLIENT_SECRET)]).unwrap_err().to_string();
        assert!(err.contains(&format!("{previous} is the simulator's published secret")), "{err}");
        let err = load(None, &[("TETHER_MODE", "sandbox"), (previous, "old")]).unwrap_err().to_string();
        assert!(err.contains(&format!("{previous} is set but TETHER_MODE is sandbox")), "{err}");
        let s = production_with(&[(previous, "old")]).unwrap();
        assert_eq!(s.vercel.webhook_secrets.len(), 2, "both verify");
    }

    #[test]
    fn production_refuses_plain_http_for_vercel_except_on_loopback() {
        for name in ["TETHER_VERCEL_API_URL", "TETHER_VERCEL_DASHBOARD_URL"] {
            let err = production_with(&[(name, "http://api.vercel.example")]).unwrap_err().to_string();
            assert!(err.contains(&format!("{name} must be https outside sandbox mode")), "{err}");
            assert_eq!(err.matches("must be https").count(), 1, "one message: {err}");
            assert!(production_with(&[(name, "http://127.0.0.1:3100")]).is_ok(), "{name} on loopback");
        }
    }

    #[test]
    fn the_public_url_carries_no_user_password_query_or_fragment() {
        for bad in [
            "https://user@tether.example.com",
            "https://user:pw@tether.example.com",
            "https://tether.example.com/?x=1",
            "https://tether.example.com/#top",
        ] {
            let err = production_with(&[("TETHER_PUBLIC_URL", bad)]).unwrap_err().to_string();
            assert!(err.contains("no user, password, query or fragment"), "{bad}: {err}");
            let err = load(None, &[("TETHER_MODE", "sandbox"), ("TETHER_PUBLIC_URL", bad)]).unwrap_err().to_string();
            assert!(err.contains("no user, password, query or fragment"), "sandbox too, {bad}: {err}");
        }
        assert!(production_with(&[("TETHER_PUBLIC_URL", "https://example.com/tether")]).is_ok(), "a path is fine");
    }

    #[test]
    fn settings_that_would_be_ignored_stop_the_server_with_one_message_each() {
        let secrets = crate::signing::SigningKey::generate_spec("k1");
        let vars = [
            ("TETHER_MODE", "sandbox"),
            ("TETHER_PROVIDER_SECRETS", secrets.as_str()),
            ("TETHER_PROVIDER_URL", "http://127.0.0.1:3200/tether/v1"),
        ];
        let err = load(None, &vars).unwrap_err();
        assert_eq!(err.0.len(), 2, "{err}");
        assert!(err.0[0].starts_with("TETHER_PROVIDER_SECRETS is set but the provider is the built-in one"), "{err}");
        assert!(err.0[1].starts_with("TETHER_PROVIDER_URL is set but the provider is the built-in one"), "{err}");
        let zero = format!("k1:{}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [0u8; 32]));
        // Later entries win: this replaces the generated key.
        let err = production_with(&[("TETHER_SEAL_KEYS", &zero)]).map(|_| ());
        let err = err.unwrap_err().to_string();
        assert!(err.contains("TETHER_SEAL_KEYS is not a list of keys: ") && err.contains("one byte repeated"), "{err}");
    }

    #[test]
    fn the_ipv6_prefix_is_a_length_from_16_to_128() {
        let sandbox = ("TETHER_MODE", "sandbox");
        assert_eq!(load(None, &[sandbox]).unwrap().client_ipv6_prefix, 64);
        assert_eq!(load(None, &[sandbox, ("TETHER_CLIENT_IPV6_PREFIX", "56")]).unwrap().client_ipv6_prefix, 56);
        for bad in ["8", "129", "sixty-four"] {
            let err = load(None, &[sandbox, ("TETHER_CLIENT_IPV6_PREFIX", bad)]).unwrap_err().to_string();
            assert!(err.contains(&format!("from 16 to 128, got `{bad}`")), "{err}");
        }
        let err = load(Some("[server]\nclient_ipv6_prefix = 200\n"), &[sandbox]).unwrap_err().to_string();
        assert!(err.contains("got `200`"), "the file's value is held to the same range: {err}");
    }

    #[test]
    fn an_env_comment_over_vercels_limit_is_refused() {
        let file = format!(
            "[[provider.env]]\nkey = \"K\"\nvalue = \"v\"\ncomment = \"{}\"\n",
            "c".repeat(MAX_ENV_COMMENT_CHARS + 1)
        );
        let err = load(Some(&format!("[provider]\n{file}")), &[("TETHER_MODE", "sandbox")]).unwrap_err().to_string();
        assert!(err.contains("`K`: the comment is over 500 characters"), "{err}");
        let shipped = load(None, &[("TETHER_MODE", "sandbox")]).unwrap();
        assert!(shipped.provider.env.iter().all(|t| t.comment.is_some()), "the defaults say what each is for");
    }

    #[test]
    fn on_uninstall_comes_from_the_file_or_the_environment() {
        let sandbox = ("TETHER_MODE", "sandbox");
        let file = "[provider]\non_uninstall = \"release\"\n";
        assert_eq!(load(Some(file), &[sandbox]).unwrap().provider.on_uninstall, OnUninstall::Release);
        let env = [sandbox, ("TETHER_PROVIDER_ON_UNINSTALL", "keep")];
        assert_eq!(load(Some(file), &env).unwrap().provider.on_uninstall, OnUninstall::Keep, "the environment wins");
        let err = load(None, &[sandbox, ("TETHER_PROVIDER_ON_UNINSTALL", "delete")]).unwrap_err().to_string();
        assert!(err.contains("TETHER_PROVIDER_ON_UNINSTALL must be keep or release"), "{err}");
    }

    #[test]
    fn the_shipped_leptos_toml_is_valid() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Leptos.toml")).unwrap();
        let s = load(Some(&text), &[("TETHER_MODE", "sandbox")]).unwrap();
        assert_eq!(s.provider.env.len(), 2);
        assert_eq!(s.provider.on_uninstall, OnUninstall::Keep);
    }

    /// What `server --help` says each setting defaults to is what an unset setting becomes.
    #[test]
    fn the_defaults_help_shows_are_the_defaults_applied() {
        let keys = Sealer::generate_spec("k1");
        let vars = [
            ("TETHER_MODE", "production"),
            ("TETHER_VERCEL_CLIENT_SECRET", "s"),
            ("TETHER_VERCEL_CLIENT_ID", "oac_1"),
            ("TETHER_SEAL_KEYS", keys.as_str()),
        ];
        let vars: HashMap<&str, &str> = vars.into_iter().collect();
        let s = Settings::from_sources(None, |k| vars.get(k).map(|v| v.to_string())).unwrap();
        let applied = |env: &str| -> Option<String> {
            Some(match env {
                "TETHER_ADDR" => s.addr.to_string(),
                "TETHER_PUBLIC_URL" => s.public_url.as_str().replace(&s.addr.to_string(), "{addr}"),
                "TETHER_DATA_DIR" => s.data_dir.display().to_string(),
                "TETHER_SITE_ROOT" => s.site_root.display().to_string(),
                "TETHER_LOG_FORMAT" => (if s.log_json { "json" } else { "text" }).into(),
                "TETHER_REQUEST_TIMEOUT_SECS" => s.request_timeout.as_secs().to_string(),
                "TETHER_CLIENT_IPV6_PREFIX" => s.client_ipv6_prefix.to_string(),
                "TETHER_DATABASE_MAX_CONNECTIONS" => s.database.max_connections.to_string(),
                "TETHER_MIGRATE_AT_START" => s.database.migrate.to_string(),
                "TETHER_VERCEL_API_URL" => s.vercel.api_url.as_str().into(),
                "TETHER_VERCEL_DASHBOARD_URL" => s.vercel.dashboard_url.as_str().into(),
                "TETHER_INTEGRATION_SLUG" => s.vercel.integration_slug.clone(),
                "TETHER_NATIVE_ISSUER" => s.vercel.marketplace_issuer.as_str().into(),
                "TETHER_PROVIDER_KIND" => format!("{:?}", s.provider.kind).to_lowercase(),
                "TETHER_PROVIDER_ON_UNINSTALL" => format!("{:?}", s.provider.on_uninstall).to_lowercase(),
                "TETHER_DATABASE_URL" => {
                    s.database_url.expose().replace(&s.data_dir.display().to_string(), "{data_dir}")
                }
                _ => return None,
            })
        };
        let mut compared = 0;
        for setting in catalog::SETTINGS {
            if let (Some(value), catalog::Fallback::Value(default)) = (applied(setting.env), setting.default) {
                assert_eq!(value.trim_end_matches('/'), default, "{}", setting.env);
                compared += 1;
            }
        }
        assert_eq!(compared, 16, "every concrete default was compared");
    }

    #[test]
    fn typos_and_bad_values_are_reported_together() {
        let err = load(Some("[server]\nadress = \"x\"\n"), &[]).unwrap_err().to_string();
        assert!(err.contains("adress"), "{err}");
        let err = load(None, &[("TETHER_ADDR", "nope"), ("TETHER_LOG_FORMAT", "xml")]).unwrap_err().to_string();
        assert!(err.contains("TETHER_ADDR") && err.contains("TETHER_LOG_FORMAT"), "{err}");
    }
}
