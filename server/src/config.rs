//! Settings: built-in defaults, then Leptos.toml, then `TETHER_*` environment variables. Secrets
//! come only from the environment. Everything is checked here, at start, with a message per
//! problem, so a bad deployment fails before it serves anything.

use std::{net::SocketAddr, path::PathBuf};

use serde::Deserialize;
use url::Url;

use crate::{seal::Sealer, secret::ClientSecret};

pub mod catalog;

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
}

impl VercelSettings {
    /// The Redirect URL registered with Vercel; the exchange must repeat it exactly.
    pub fn redirect_url(public_url: &Url) -> String {
        format!("{}/callback", public_url.as_str().trim_end_matches('/'))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
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

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    #[default]
    Builtin,
    Http,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
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

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
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

impl Default for ProviderSettings {
    fn default() -> Self {
        Self {
            kind: ProviderKind::Builtin,
            base_url: None,
            account_link_url: None,
            name: "Acme DB".into(),
            region: "iad1".into(),
            resource_url: "https://{id}.db.acme.example".into(),
            env: vec![
                EnvTemplate {
                    key: "ACME_URL".into(),
                    value: "{url}".into(),
                    secret: false,
                    targets: all_targets(),
                    comment: Some("Acme DB: the URL of the database connected to this project.".into()),
                },
                EnvTemplate {
                    key: "ACME_API_KEY".into(),
                    value: "{api_key}".into(),
                    secret: true,
                    targets: all_targets(),
                    comment: Some("Acme DB: the API key of the database connected to this project.".into()),
                },
            ],
            on_uninstall: OnUninstall::Keep,
        }
    }
}

/// Leptos.toml's shape. Unknown keys are errors: a typo should not silently fall back.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct File {
    server: FileServer,
    vercel: FileVercel,
    sandbox: FileSandbox,
    provider: Option<ProviderSettings>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileServer {
    mode: Option<String>,
    addr: Option<String>,
    public_url: Option<String>,
    database_url: Option<String>,
    data_dir: Option<String>,
    site_root: Option<String>,
    log_format: Option<String>,
    client_ip_header: Option<String>,
    client_ipv6_prefix: Option<u8>,
    request_timeout_secs: Option<u64>,
    database_max_connections: Option<u32>,
    migrate_at_start: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileVercel {
    api_url: Option<String>,
    dashboard_url: Option<String>,
    client_id: Option<String>,
    integration_slug: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileSandbox {
    simulator_url: Option<String>,
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
        let path = env("TETHER_CONFIG").filter(|p| !p.is_empty()).unwrap_or_else(|| "Leptos.toml".into());
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(_) if env("TETHER_CONFIG").is_none() => None,
            Err(error) => return Err(ConfigError(vec![format!("cannot read {path}: {error}")])),
        };
        Self::from_sources(text.as_deref(), env)
    }

    /// The same rules over given sources, so tests can build settings without touching the process.
    pub fn from_sources(file: Option<&str>, raw_env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let mut notices = Vec::new();
        // Outside the credentials, an empty variable means "not set".
        let env = |key: &str| raw_env(key).filter(|v| !v.is_empty());
        let file: File = match file.map(toml::from_str).transpose() {
            Ok(parsed) => parsed.unwrap_or_default(),
            Err(error) => return Err(ConfigError(vec![format!("Leptos.toml: {error}")])),
        };
        let pick = |var: &str, from_file: &Option<String>, default: &str| {
            env(var).or_else(|| from_file.clone()).unwrap_or_else(|| default.to_owned())
        };
        let mut parse_url = |name: &str, value: String| match Url::parse(&value) {
            Ok(url) if url.scheme() == "http" || url.scheme() == "https" => Some(url),
            _ => {
                problems.push(format!("{name} must be an http(s) URL, got `{value}`"));
                None
            }
        };

        let addr_text = pick("TETHER_ADDR", &file.server.addr, "127.0.0.1:3000");
        let public_url = parse_url(
            "TETHER_PUBLIC_URL",
            pick("TETHER_PUBLIC_URL", &file.server.public_url, &format!("http://{addr_text}")),
        );
        let simulator_url = parse_url(
            "TETHER_SIMULATOR_URL",
            pick("TETHER_SIMULATOR_URL", &file.sandbox.simulator_url, "http://127.0.0.1:3100"),
        );
        let api_url = parse_url(
            "TETHER_VERCEL_API_URL",
            pick("TETHER_VERCEL_API_URL", &file.vercel.api_url, "https://api.vercel.com"),
        );
        let dashboard_url = parse_url(
            "TETHER_VERCEL_DASHBOARD_URL",
            pick("TETHER_VERCEL_DASHBOARD_URL", &file.vercel.dashboard_url, "https://vercel.com"),
        );
        let addr = match addr_text.parse::<SocketAddr>() {
            Ok(addr) => Some(addr),
            Err(_) => {
                problems.push(format!("TETHER_ADDR must be ip:port, got `{addr_text}`"));
                None
            }
        };
        let data_dir = PathBuf::from(pick("TETHER_DATA_DIR", &file.server.data_dir, "data"));
        let mode = env("TETHER_MODE").or_else(|| file.server.mode.clone());
        let sandbox = match mode.as_deref() {
            Some("sandbox") => true,
            Some("production") => false,
            Some(other) => {
                problems.push(format!("TETHER_MODE must be `sandbox` or `production`, got `{other}`"));
                false
            }
            None => {
                problems.push(
                    "TETHER_MODE is not set: choose `production` (talk to Vercel) or `sandbox` (the bundled \
                     simulator plays Vercel); it is never guessed from which secrets are present"
                        .into(),
                );
                false
            }
        };
        let credentials = Credentials::read(&raw_env, file.vercel.client_id.as_deref());
        credentials.check(sandbox, &mut problems);
        // Outside the sandbox only https will do, except on this machine's own loopback address
        // (local tests against a Vercel double): codes, tokens and secrets travel on these.
        let secured = [
            ("TETHER_PUBLIC_URL", &public_url, "Vercel sends codes to it"),
            ("TETHER_VERCEL_API_URL", &api_url, "Tether sends the client secret and tokens to it"),
            ("TETHER_VERCEL_DASHBOARD_URL", &dashboard_url, "users are sent back to it"),
        ];
        for (name, url, why) in secured {
            if let Some(url) = url.as_ref().filter(|url| !sandbox && url.scheme() != "https" && !is_loopback(url)) {
                problems.push(format!("{name} must be https outside sandbox mode ({why}), got `{url}`"));
            }
        }
        // The Redirect URL and every link are built on it: nothing may ride along.
        if let Some(url) = &public_url {
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
        let sealer = match &credentials.seal_keys {
            Some(spec) if !spec.is_empty() => {
                Sealer::from_spec(spec).map_err(|e| problems.push(format!("TETHER_SEAL_KEYS: {e}"))).ok()
            }
            None if sandbox => sandbox_sealer(&data_dir, &mut notices).map_err(|e| problems.push(e)).ok(),
            // Already reported by the credentials check.
            _ => None,
        };
        let client_ip_header = match env("TETHER_CLIENT_IP_HEADER").or_else(|| file.server.client_ip_header.clone()) {
            None => None,
            Some(name) => axum::http::HeaderName::try_from(name.to_ascii_lowercase())
                .map_err(|_| problems.push(format!("TETHER_CLIENT_IP_HEADER `{name}` is not a header name")))
                .ok(),
        };
        let client_ipv6_prefix = match env("TETHER_CLIENT_IPV6_PREFIX") {
            Some(text) => text.parse::<u8>().map_err(|_| text),
            None => Ok(file.server.client_ipv6_prefix.unwrap_or(64)),
        };
        let client_ipv6_prefix = match client_ipv6_prefix {
            Ok(bits) if (16..=128).contains(&bits) => bits,
            wrong => {
                let got = wrong.map_or_else(|text| text, |bits| bits.to_string());
                problems.push(format!("TETHER_CLIENT_IPV6_PREFIX must be a prefix length from 16 to 128, got `{got}`"));
                64
            }
        };
        let request_timeout = match env("TETHER_REQUEST_TIMEOUT_SECS") {
            Some(text) => text.parse::<u64>().ok().filter(|s| *s > 0).unwrap_or_else(|| {
                problems.push(format!("TETHER_REQUEST_TIMEOUT_SECS must be a whole number of seconds, got `{text}`"));
                30
            }),
            None => file.server.request_timeout_secs.unwrap_or(30),
        };
        let max_connections = match env("TETHER_DATABASE_MAX_CONNECTIONS") {
            Some(text) => text.parse::<u32>().ok().filter(|n| *n > 0).unwrap_or_else(|| {
                problems.push(format!("TETHER_DATABASE_MAX_CONNECTIONS must be a positive whole number, got `{text}`"));
                8
            }),
            None => file.server.database_max_connections.unwrap_or(8),
        };
        let migrate = match env("TETHER_MIGRATE_AT_START").as_deref() {
            Some("true") => true,
            Some("false") => false,
            Some(other) => {
                problems.push(format!("TETHER_MIGRATE_AT_START must be true or false, got `{other}`"));
                true
            }
            None => file.server.migrate_at_start.unwrap_or(true),
        };
        let database_url = pick(
            "TETHER_DATABASE_URL",
            &file.server.database_url,
            &format!("sqlite://{}/tether.db", data_dir.display()),
        );
        if let Err(error) = crate::store::Backend::of_url(&database_url) {
            problems.push(format!("TETHER_DATABASE_URL: {error}"));
        }
        let log_format = pick("TETHER_LOG_FORMAT", &file.server.log_format, "text");
        if !["text", "json"].contains(&log_format.as_str()) {
            problems.push(format!("TETHER_LOG_FORMAT must be text or json, got `{log_format}`"));
        }
        let mut provider = file.provider.unwrap_or_default();
        match env("TETHER_PROVIDER_KIND").as_deref() {
            None => {}
            Some("builtin") => provider.kind = ProviderKind::Builtin,
            Some("http") => provider.kind = ProviderKind::Http,
            Some(other) => problems.push(format!("TETHER_PROVIDER_KIND must be builtin or http, got `{other}`")),
        }
        if let Some(url) = env("TETHER_PROVIDER_URL") {
            provider.base_url = Some(url);
        }
        match env("TETHER_PROVIDER_ON_UNINSTALL").as_deref() {
            None => {}
            Some("keep") => provider.on_uninstall = OnUninstall::Keep,
            Some("release") => provider.on_uninstall = OnUninstall::Release,
            Some(other) => {
                problems.push(format!("TETHER_PROVIDER_ON_UNINSTALL must be keep or release, got `{other}`"))
            }
        }
        if let Some(url) = env("TETHER_PROVIDER_ACCOUNT_LINK_URL") {
            provider.account_link_url = Some(url);
        }
        if let Some(link) = provider.account_link_url.as_deref() {
            match Url::parse(link) {
                _ if provider.kind != ProviderKind::Http => problems.push(
                    "account linking (TETHER_PROVIDER_ACCOUNT_LINK_URL) needs the http provider: its tickets are signed \
                     with TETHER_PROVIDER_SECRETS"
                        .into(),
                ),
                Err(error) => problems.push(format!("TETHER_PROVIDER_ACCOUNT_LINK_URL is not a URL: {error}")),
                Ok(url) if url.scheme() != "https" && !sandbox && !is_loopback(&url) => {
                    problems.push("TETHER_PROVIDER_ACCOUNT_LINK_URL must be https outside sandbox mode".into())
                }
                Ok(_) => {}
            }
        }
        let mut provider_keys = Vec::new();
        if provider.kind == ProviderKind::Http {
            match provider.base_url.as_deref().map(Url::parse) {
                None => problems.push("the http provider needs TETHER_PROVIDER_URL (or [provider] base_url)".into()),
                Some(Err(error)) => problems.push(format!("TETHER_PROVIDER_URL is not a URL: {error}")),
                Some(Ok(url)) if url.scheme() != "https" && !sandbox && !is_loopback(&url) => problems.push(
                    "TETHER_PROVIDER_URL must be https outside sandbox mode: the answers carry credentials".into(),
                ),
                Some(Ok(_)) => {}
            }
            // Fail closed: an http provider never runs with unsigned requests.
            match env("TETHER_PROVIDER_SECRETS").filter(|s| !s.trim().is_empty()) {
                None => problems.push(
                    "the http provider needs TETHER_PROVIDER_SECRETS (id:whsec_…): Tether signs every call".into(),
                ),
                Some(spec) => match crate::signing::parse_keys(&spec) {
                    Ok(keys) => provider_keys = keys,
                    Err(error) => problems.push(format!("TETHER_PROVIDER_SECRETS: {error}")),
                },
            }
        }
        // Settings of the http provider that the built-in one would silently ignore: an operator
        // who set them meant something else.
        if provider.kind == ProviderKind::Builtin {
            let ignored = [
                ("TETHER_PROVIDER_SECRETS", raw_env("TETHER_PROVIDER_SECRETS").is_some()),
                ("TETHER_PROVIDER_URL", provider.base_url.is_some()),
            ];
            for (name, _) in ignored.iter().filter(|(_, set)| *set) {
                problems.push(format!(
                    "{name} is set but the provider is the built-in one, which would ignore it: set \
                     TETHER_PROVIDER_KIND=http, or unset {name}"
                ));
            }
        }
        if provider.env.is_empty() {
            problems.push("[provider] must list at least one env var".into());
        }
        for template in &provider.env {
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

        // Read raw: set but empty is a mistake to report, not a way to switch it off.
        let operator_token = match raw_env("TETHER_OPERATOR_TOKEN") {
            None => None,
            Some(token) if token.trim().chars().count() < MIN_OPERATOR_TOKEN_CHARS => {
                problems.push(format!(
                    "TETHER_OPERATOR_TOKEN must be at least {MIN_OPERATOR_TOKEN_CHARS} characters (it opens the \
                     operator's endpoints); make one with `openssl rand -hex 32`"
                ));
                None
            }
            Some(token) => Some(crate::secret::OperatorToken::new(token.trim())),
        };

        if !problems.is_empty() {
            return Err(ConfigError(problems));
        }
        let (Some(addr), Some(public_url), Some(simulator_url), Some(api_url), Some(dashboard_url), Some(sealer)) =
            (addr, public_url, simulator_url, api_url, dashboard_url, sealer)
        else {
            unreachable!("every missing value pushed a problem");
        };
        let Credentials { client_id, client_secret, previous_secret, .. } = credentials;
        let vercel = if sandbox {
            VercelSettings {
                api_url: simulator_url.clone(),
                dashboard_url: simulator_url.clone(),
                client_id: vercel_sim::DEFAULT_CLIENT_ID.into(),
                client_secret: ClientSecret::new(vercel_sim::DEFAULT_CLIENT_SECRET),
                webhook_secrets: vec![ClientSecret::new(vercel_sim::DEFAULT_CLIENT_SECRET)],
                integration_slug: pick("TETHER_INTEGRATION_SLUG", &file.vercel.integration_slug, "tether"),
                next_origin: simulator_url,
            }
        } else {
            VercelSettings {
                api_url,
                next_origin: dashboard_url.clone(),
                dashboard_url,
                client_id: client_id.unwrap_or_default(),
                webhook_secrets: [client_secret.clone(), previous_secret]
                    .into_iter()
                    .flatten()
                    .map(ClientSecret::new)
                    .collect(),
                client_secret: ClientSecret::new(client_secret.unwrap_or_default()),
                integration_slug: pick("TETHER_INTEGRATION_SLUG", &file.vercel.integration_slug, "tether"),
            }
        };
        Ok(Self {
            addr,
            public_url,
            database_url: crate::secret::DatabaseUrl::new(database_url),
            database: crate::store::Options { max_connections, migrate },
            site_root: PathBuf::from(pick("TETHER_SITE_ROOT", &file.server.site_root, "target/site")),
            data_dir,
            log_json: log_format == "json",
            notices,
            client_ip_header,
            client_ipv6_prefix,
            request_timeout: std::time::Duration::from_secs(request_timeout),
            vercel,
            provider,
            sandbox,
            sealer,
            provider_keys,
            operator_token,
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

/// The three values that make a production deployment. Each is either absent or present; an
/// empty value counts as present (and wrong), so a blanked secret never slips into a default.
struct Credentials {
    client_id: Option<String>,
    client_secret: Option<String>,
    seal_keys: Option<String>,
    /// Optional even in production, but held to the current secret's rules when set: it
    /// verifies webhooks just as well, so a weak one opens the same door.
    previous_secret: Option<String>,
}

const CREDENTIAL_VARS: [&str; 3] = ["TETHER_VERCEL_CLIENT_ID", "TETHER_VERCEL_CLIENT_SECRET", "TETHER_SEAL_KEYS"];
const PREVIOUS_SECRET_VAR: &str = "TETHER_VERCEL_CLIENT_SECRET_PREVIOUS";

impl Credentials {
    fn read(env: &impl Fn(&str) -> Option<String>, file_client_id: Option<&str>) -> Self {
        Self {
            client_id: env("TETHER_VERCEL_CLIENT_ID")
                .or_else(|| file_client_id.filter(|v| !v.is_empty()).map(str::to_owned)),
            client_secret: env("TETHER_VERCEL_CLIENT_SECRET"),
            seal_keys: env("TETHER_SEAL_KEYS"),
            previous_secret: env(PREVIOUS_SECRET_VAR),
        }
    }

    fn values(&self) -> [&Option<String>; 3] {
        [&self.client_id, &self.client_secret, &self.seal_keys]
    }

    /// Sandbox takes none of them; production (or any one of them set) needs all three,
    /// non-empty, and never the simulator's published secret.
    fn check(&self, sandbox: bool, problems: &mut Vec<String>) {
        let values = self.values();
        if sandbox {
            let previous = (&PREVIOUS_SECRET_VAR, &self.previous_secret);
            for (name, value) in CREDENTIAL_VARS.iter().zip(values).chain([previous]) {
                if value.is_some() {
                    problems.push(format!(
                        "{name} is set but TETHER_MODE is sandbox: set TETHER_MODE=production to use Vercel"
                    ));
                }
            }
            return;
        }
        for (name, value) in CREDENTIAL_VARS.iter().zip(values) {
            match value.as_deref() {
                None => problems.push(format!("{name} is required in production mode")),
                Some("") => problems.push(format!("{name} is set but empty")),
                Some(_) => {}
            }
        }
        if self.previous_secret.as_deref() == Some("") {
            problems.push(format!("{PREVIOUS_SECRET_VAR} is set but empty: unset it, or give the old secret"));
        }
        for (name, value) in
            [("TETHER_VERCEL_CLIENT_SECRET", &self.client_secret), (PREVIOUS_SECRET_VAR, &self.previous_secret)]
        {
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
        assert_eq!(crate::store::Backend::of_url(s.database_url.expose()).unwrap(), crate::store::Backend::Postgres);
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
        assert!(err.contains("TETHER_SEAL_KEYS: ") && err.contains("one byte repeated"), "{err}");
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
            if let Some(value) = applied(setting.env) {
                assert_eq!(value.trim_end_matches('/'), setting.default, "{}", setting.env);
                compared += 1;
            }
        }
        assert_eq!(compared, 15, "every concrete default was compared");
    }

    #[test]
    fn typos_and_bad_values_are_reported_together() {
        let err = load(Some("[server]\nadress = \"x\"\n"), &[]).unwrap_err().to_string();
        assert!(err.contains("adress"), "{err}");
        let err = load(None, &[("TETHER_ADDR", "nope"), ("TETHER_LOG_FORMAT", "xml")]).unwrap_err().to_string();
        assert!(err.contains("TETHER_ADDR") && err.contains("TETHER_LOG_FORMAT"), "{err}");
    }
}
