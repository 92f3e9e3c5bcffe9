//! Every setting Tether reads, declared once: its variable, its key in the settings file, its
//! default, how its text becomes a value, and whether it is a secret. Loading
//! ([`super::Settings::from_sources`]), `server --help`, `server check-config` and README's
//! settings table all read these declarations, so none of them can disagree about a name or a
//! default.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use url::Url;

use super::{OnUninstall, ProviderKind};
use crate::{seal::Sealer, signing::SigningKey};

/// What every setting has, whatever its type: enough for `--help` and the README table.
#[derive(Debug)]
pub struct About {
    pub env: &'static str,
    /// `[section] key` in the settings file; `None` for what only the environment may hold.
    pub file: Option<(&'static str, &'static str)>,
    pub default: Fallback,
    pub help: &'static str,
    /// Never a flag, and never printed: the command line is visible to every process on the
    /// machine. Secrets come from the environment, except a database URL, which the settings
    /// file may also hold.
    pub secret: bool,
    /// An empty variable is a value (and refused), not "unset": a blanked credential must not
    /// slip into a default. An empty value in the settings file is always unset, so the file can
    /// ship `client_id = ""` as a placeholder.
    pub empty_is_given: bool,
}

/// What an unset setting becomes.
#[derive(Debug, Clone, Copy)]
pub enum Fallback {
    /// This text, parsed like a given value. `{addr}` and `{data_dir}` stand for those settings.
    Value(&'static str),
    /// No value; the words say what that means ("required", "the peer address").
    Unset(&'static str),
}

impl Fallback {
    /// As `--help` and README show it.
    pub fn shown(self) -> String {
        match self {
            Fallback::Value(text) => text.to_owned(),
            Fallback::Unset("") => "none".to_owned(),
            Fallback::Unset(meaning) => format!("none: {meaning}"),
        }
    }
}

impl About {
    /// The flag that may override it, from the variable's name: `TETHER_PUBLIC_URL` is
    /// `--public-url`.
    pub fn flag(&self) -> String {
        self.env.trim_start_matches("TETHER_").to_ascii_lowercase().replace('_', "-")
    }

    /// `[server] addr`, as `--help` and README name the file key.
    pub fn file_key(&self) -> Option<String> {
        self.file.map(|(section, key)| format!("[{section}] {key}"))
    }
}

/// A setting and the parser that turns its text into a `T`. The parser's error completes a
/// sentence that starts with the variable ("must be ip:port"); the value is added to it unless it
/// is a secret.
pub struct Setting<T> {
    pub about: About,
    pub parse: fn(&str) -> Result<T, String>,
}

impl<T> std::ops::Deref for Setting<T> {
    type Target = About;

    fn deref(&self) -> &About {
        &self.about
    }
}

const fn plain<T>(
    env: &'static str,
    file: Option<(&'static str, &'static str)>,
    default: Fallback,
    help: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> Setting<T> {
    Setting { about: About { env, file, default, help, secret: false, empty_is_given: false }, parse }
}

const fn secret<T>(
    env: &'static str,
    default: Fallback,
    help: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> Setting<T> {
    Setting { about: About { env, file: None, default, help, secret: true, empty_is_given: true }, parse }
}

use Fallback::{Unset, Value};

const fn server(key: &'static str) -> Option<(&'static str, &'static str)> {
    Some(("server", key))
}

const fn vercel(key: &'static str) -> Option<(&'static str, &'static str)> {
    Some(("vercel", key))
}

const fn provider(key: &'static str) -> Option<(&'static str, &'static str)> {
    Some(("provider", key))
}

pub const CONFIG: Setting<PathBuf> = plain(
    "TETHER_CONFIG",
    None,
    Value("Leptos.toml"),
    "The settings file. Flags beat the environment, which beats the file, which beats the defaults.",
    path,
);
pub const MODE: Setting<bool> = plain(
    "TETHER_MODE",
    server("mode"),
    Unset("required"),
    "`production` (talk to Vercel) or `sandbox` (the bundled simulator plays Vercel, with demo resources and a \
     generated seal key). Never guessed from which secrets are present; `cargo xtask run` and the tests choose \
     sandbox.",
    |text| one_of(text, &[("sandbox", true), ("production", false)]),
);
pub const ADDR: Setting<SocketAddr> =
    plain("TETHER_ADDR", server("addr"), Value("127.0.0.1:3000"), "Where to listen (ip:port).", |text| {
        text.parse().map_err(|_| "must be ip:port".into())
    });
pub const PUBLIC_URL: Setting<Url> = plain(
    "TETHER_PUBLIC_URL",
    server("public_url"),
    Value("http://{addr}"),
    "The public origin; the Redirect URL is {public_url}/callback. https outside sandbox mode (loopback \
     excepted); no user, password, query or fragment.",
    web_url,
);
pub const DATA_DIR: Setting<PathBuf> = plain(
    "TETHER_DATA_DIR",
    server("data_dir"),
    Value("data"),
    "The SQLite file and, in sandbox mode, the generated seal key. Created 0700; one that exists with a looser \
     mode is tightened to 0700 if it is this user's, and refused at start if it is someone else's or shared \
     (/tmp).",
    path,
);
pub const SITE_ROOT: Setting<PathBuf> = plain(
    "TETHER_SITE_ROOT",
    server("site_root"),
    Value("target/site"),
    "Where cargo-leptos put the wasm, JS and CSS.",
    path,
);
pub const LOG_FORMAT: Setting<bool> = plain(
    "TETHER_LOG_FORMAT",
    server("log_format"),
    Value("text"),
    "`text` or `json` (one object per line); RUST_LOG sets the levels. One line per request with its method, \
     route, status and latency, never its query string; every line of an installation's requests carries its id.",
    |text| one_of(text, &[("text", false), ("json", true)]),
);
pub const CLIENT_IP_HEADER: Setting<axum::http::HeaderName> = plain(
    "TETHER_CLIENT_IP_HEADER",
    server("client_ip_header"),
    Unset("the peer address"),
    "Behind a load balancer, the header it appends the client's address to (x-forwarded-for, say; its last \
     address counts, earlier ones are the client's own claims). Rate limits are per client.",
    |text| axum::http::HeaderName::try_from(text.to_ascii_lowercase()).map_err(|_| "must be a header name".into()),
);
pub const CLIENT_IPV6_PREFIX: Setting<u8> = plain(
    "TETHER_CLIENT_IPV6_PREFIX",
    server("client_ipv6_prefix"),
    Value("64"),
    "How many leading bits of an IPv6 address count as one client for the rate limits (16 to 128): one \
     subscriber usually holds a whole /64. An IPv4 address counts alone, also when it arrives IPv4-mapped.",
    |text| number_in(text, 16..=128u8, "must be a prefix length from 16 to 128"),
);
pub const REQUEST_TIMEOUT_SECS: Setting<Duration> = plain(
    "TETHER_REQUEST_TIMEOUT_SECS",
    server("request_timeout_secs"),
    Value("30"),
    "The most a whole request may take before it is answered 408.",
    |text| number_in(text, 1u64.., "must be a whole number of seconds").map(Duration::from_secs),
);
pub const DATABASE_MAX_CONNECTIONS: Setting<u32> = plain(
    "TETHER_DATABASE_MAX_CONNECTIONS",
    server("database_max_connections"),
    Value("8"),
    "The database pool size of each instance.",
    |text| number_in(text, 1u32.., "must be a positive whole number"),
);
pub const MIGRATE_AT_START: Setting<bool> = plain(
    "TETHER_MIGRATE_AT_START",
    server("migrate_at_start"),
    Value("true"),
    "`false` when an operator runs `server migrate` once before rolling out instances.",
    |text| one_of(text, &[("true", true), ("false", false)]),
);
pub const VERCEL_API_URL: Setting<Url> =
    plain("TETHER_VERCEL_API_URL", vercel("api_url"), Value("https://api.vercel.com"), "Vercel's REST API.", web_url);
pub const VERCEL_DASHBOARD_URL: Setting<Url> = plain(
    "TETHER_VERCEL_DASHBOARD_URL",
    vercel("dashboard_url"),
    Value("https://vercel.com"),
    "Vercel's dashboard; `next` is only ever followed to its origin. https outside sandbox mode (loopback \
     excepted), like TETHER_VERCEL_API_URL.",
    web_url,
);
/// No secret (the popup's URLs show it), yet a blank one is as wrong as a blank secret.
pub const VERCEL_CLIENT_ID: Setting<String> = Setting {
    about: About {
        env: "TETHER_VERCEL_CLIENT_ID",
        file: vercel("client_id"),
        default: Unset("required in production"),
        help: "The integration's Client (Integration) ID from Vercel's Integration Console. Required and non-empty \
               in production, refused in sandbox mode.",
        secret: false,
        empty_is_given: true,
    },
    parse: text,
};
pub const NATIVE_ISSUER: Setting<Url> = plain(
    "TETHER_NATIVE_ISSUER",
    vercel("marketplace_issuer"),
    Value("https://marketplace.vercel.com"),
    "Native integrations: the issuer of the OIDC tokens Vercel signs its Partner API calls with (`iss`); its \
     keys are at {issuer}/.well-known/jwks. https outside sandbox mode (loopback excepted); in sandbox mode the \
     simulator issues them.",
    web_url,
);
pub const INTEGRATION_SLUG: Setting<String> = plain(
    "TETHER_INTEGRATION_SLUG",
    vercel("integration_slug"),
    Value("tether"),
    "The integration's URL slug: the external flow sends users to {dashboard}/integrations/{slug}/new.",
    text,
);
pub const SIMULATOR_URL: Setting<Url> = plain(
    "TETHER_SIMULATOR_URL",
    Some(("sandbox", "simulator_url")),
    Value("http://127.0.0.1:3100"),
    "The Vercel simulator, in sandbox mode.",
    web_url,
);
pub const PROVIDER_KIND: Setting<ProviderKind> = plain(
    "TETHER_PROVIDER_KIND",
    provider("kind"),
    Value("builtin"),
    "`builtin` (resources in Tether's database, env vars from the [[provider.env]] templates) or `http` (the \
     vendor's system, over docs/provider-contract.yaml; it names the env vars itself).",
    |text| one_of(text, &[("builtin", ProviderKind::Builtin), ("http", ProviderKind::Http)]),
);
pub const PROVIDER_URL: Setting<String> = plain(
    "TETHER_PROVIDER_URL",
    provider("base_url"),
    Unset(""),
    "With `http`: the contract's base URL; https outside sandbox mode (loopback excepted).",
    text,
);
pub const PROVIDER_ON_UNINSTALL: Setting<OnUninstall> = plain(
    "TETHER_PROVIDER_ON_UNINSTALL",
    provider("on_uninstall"),
    Value("keep"),
    "`keep` or `release`: whether a resource Tether created is released once nothing links it any more (its last \
     project disconnected, or its installation removed). What the user only connected is never released.",
    |text| one_of(text, &[("keep", OnUninstall::Keep), ("release", OnUninstall::Release)]),
);
pub const PROVIDER_ACCOUNT_LINK_URL: Setting<String> = plain(
    "TETHER_PROVIDER_ACCOUNT_LINK_URL",
    provider("account_link_url"),
    Unset(""),
    "With `http`, optional: the vendor's sign-in page; the popup asks the user to sign in there first, and the \
     vendor's account id is used from then on.",
    text,
);
pub const VERCEL_CLIENT_SECRET: Setting<String> = secret(
    "TETHER_VERCEL_CLIENT_SECRET",
    Unset("required in production"),
    "The integration's Client Secret; it also verifies webhook signatures. Required and non-empty in production, \
     refused in sandbox mode; the simulator's published secret is refused.",
    text,
);
pub const VERCEL_CLIENT_SECRET_PREVIOUS: Setting<String> = secret(
    "TETHER_VERCEL_CLIENT_SECRET_PREVIOUS",
    Unset(""),
    "While Vercel rotates the client secret, webhooks signed with the old one still verify. Held to the current \
     secret's rules.",
    text,
);
pub const SEAL_KEYS: Setting<Sealer> = secret(
    "TETHER_SEAL_KEYS",
    Unset("required in production; generated in sandbox mode"),
    "id:base64(32 bytes)[,id:key…]: the first seals, all open. Make one with `openssl rand -base64 32` (one \
     repeated byte is refused). To rotate: put the new key first, run `server rewrap`, then drop the old one. \
     Values sealed under a key no longer listed are reported at start and make /readyz answer 503.",
    |text| Sealer::from_spec(text).map_err(|error| format!("is not a list of keys: {error}")),
);
/// It may hold a password: no flag, though the settings file may name it.
pub const DATABASE_URL: Setting<crate::secret::DatabaseUrl> = Setting {
    about: About {
        env: "TETHER_DATABASE_URL",
        file: server("database_url"),
        default: Value("sqlite://{data_dir}/tether.db"),
        help: "sqlite://… (one instance) or postgres://… (any number of instances); the scheme picks.",
        secret: true,
        empty_is_given: false,
    },
    parse: |text| match crate::store::Engine::of_url(text) {
        Ok(_) => Ok(crate::secret::DatabaseUrl::new(text)),
        Err(_) => Err("must start with sqlite:// or postgres://".into()),
    },
};
pub const OPERATOR_TOKEN: Setting<crate::secret::OperatorToken> = secret(
    "TETHER_OPERATOR_TOKEN",
    Unset("/metrics and /operator answer 404"),
    "At least 32 characters: the bearer token (Authorization: Bearer …) that opens /metrics and the operator's \
     endpoints (/operator: installations, recent failures, parked webhooks and their replay).",
    |text| {
        let token = text.trim();
        if token.chars().count() < super::MIN_OPERATOR_TOKEN_CHARS {
            return Err(format!(
                "must be at least {} characters (it opens the operator's endpoints); make one with `openssl rand \
                 -hex 32`",
                super::MIN_OPERATOR_TOKEN_CHARS
            ));
        }
        Ok(crate::secret::OperatorToken::new(token))
    },
);
pub const PROVIDER_SECRETS: Setting<Vec<SigningKey>> = secret(
    "TETHER_PROVIDER_SECRETS",
    Unset("required with `http`"),
    "id:whsec_base64[,…], newest first: every call to the vendor's system is signed with each. Refused with the \
     built-in provider, which would ignore it (as is TETHER_PROVIDER_URL).",
    |text| crate::signing::parse_keys(text).map_err(|error| format!("is not a list of keys: {error}")),
);

/// In the order an operator meets them: where Tether runs, what it talks to, then tuning and
/// secrets.
pub const SETTINGS: &[&About] = &[
    &CONFIG.about,
    &MODE.about,
    &ADDR.about,
    &PUBLIC_URL.about,
    &DATA_DIR.about,
    &SITE_ROOT.about,
    &LOG_FORMAT.about,
    &CLIENT_IP_HEADER.about,
    &CLIENT_IPV6_PREFIX.about,
    &REQUEST_TIMEOUT_SECS.about,
    &DATABASE_MAX_CONNECTIONS.about,
    &MIGRATE_AT_START.about,
    &VERCEL_API_URL.about,
    &VERCEL_DASHBOARD_URL.about,
    &VERCEL_CLIENT_ID.about,
    &NATIVE_ISSUER.about,
    &INTEGRATION_SLUG.about,
    &SIMULATOR_URL.about,
    &PROVIDER_KIND.about,
    &PROVIDER_URL.about,
    &PROVIDER_ON_UNINSTALL.about,
    &PROVIDER_ACCOUNT_LINK_URL.about,
    &VERCEL_CLIENT_SECRET.about,
    &VERCEL_CLIENT_SECRET_PREVIOUS.about,
    &SEAL_KEYS.about,
    &DATABASE_URL.about,
    &OPERATOR_TOKEN.about,
    &PROVIDER_SECRETS.about,
];

/// README's settings table, row by row from [`SETTINGS`]; a test keeps README's copy equal.
pub fn markdown_table() -> String {
    let mut table = String::from("| Variable | Settings file | Default | What it does |\n|---|---|---|---|\n");
    for about in SETTINGS {
        let file = about.file_key().map_or_else(|| "–".to_owned(), |key| format!("`{key}`"));
        let secret = if about.secret { " Secret: environment only, never a flag." } else { "" };
        let secret = if about.secret && about.file.is_some() { " Secret: never a flag." } else { secret };
        let default = match about.default {
            Fallback::Value(text) => format!("`{text}`"),
            unset => unset.shown(),
        };
        table.push_str(&format!(
            "| `{}` | {file} | {default} | {}{secret} |\n",
            about.env,
            about.help.replace('|', "\\|")
        ));
    }
    table
}

/// One of a few words, each meaning a value: "must be keep or release" otherwise.
fn one_of<T: Copy>(text: &str, words: &[(&str, T)]) -> Result<T, String> {
    match words.iter().find(|(word, _)| *word == text) {
        Some((_, value)) => Ok(*value),
        None => Err(format!("must be {}", words.iter().map(|(word, _)| *word).collect::<Vec<_>>().join(" or "))),
    }
}

/// A whole number in `range`; otherwise `why`.
fn number_in<T: std::str::FromStr + PartialOrd>(
    text: &str,
    range: impl std::ops::RangeBounds<T>,
    why: &str,
) -> Result<T, String> {
    text.parse::<T>().ok().filter(|n| range.contains(n)).ok_or_else(|| why.to_owned())
}

fn text(text: &str) -> Result<String, String> {
    Ok(text.to_owned())
}

fn path(text: &str) -> Result<PathBuf, String> {
    Ok(PathBuf::from(text))
}

fn web_url(text: &str) -> Result<Url, String> {
    match Url::parse(text) {
        Ok(url) if url.scheme() == "http" || url.scheme() == "https" => Ok(url),
        _ => Err("must be an http(s) URL".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_follow_the_variable_names_and_are_unique() {
        let flags: Vec<String> = SETTINGS.iter().map(|s| s.flag()).collect();
        assert!(flags.contains(&"public-url".to_owned()));
        let mut unique = flags.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), flags.len());
        for s in SETTINGS.iter().filter(|s| s.secret && s.env != "TETHER_DATABASE_URL") {
            assert!(s.file.is_none(), "{} is a secret: environment only", s.env);
        }
    }

    /// README's table is the catalog's: a setting added, renamed or given a new default here
    /// shows up there, or this fails with the table to paste.
    #[test]
    fn readme_lists_every_setting_as_the_catalog_declares_it() {
        let readme = include_str!("../../../README.md");
        let table = markdown_table();
        assert!(readme.contains(&table), "README's settings table is stale; paste this one:\n\n{table}");
    }
}
