//! Every setting Tether reads, as `server --help` lists it: one table, so the help cannot forget
//! a setting (an integration test compares it with every `TETHER_*` name in the source) and a
//! test checks that the defaults it shows are the defaults [`super::Settings`] applies.

/// One setting: its environment variable, its key in the settings file, its default and what
/// it does.
pub struct Setting {
    pub env: &'static str,
    /// `[section] key` in the settings file; `None` for what only the environment may hold.
    pub file: Option<&'static str>,
    pub default: &'static str,
    pub help: &'static str,
    /// Never a flag: the command line is visible to every process on the machine. Secrets come
    /// from the environment, except a database URL, which the settings file may also hold.
    pub secret: bool,
}

impl Setting {
    /// The flag that may override it, from the variable's name: `TETHER_PUBLIC_URL` is
    /// `--public-url`.
    pub fn flag(&self) -> String {
        self.env.trim_start_matches("TETHER_").to_ascii_lowercase().replace('_', "-")
    }
}

const fn setting(env: &'static str, file: Option<&'static str>, default: &'static str, help: &'static str) -> Setting {
    Setting { env, file, default, help, secret: false }
}

const fn secret(env: &'static str, default: &'static str, help: &'static str) -> Setting {
    Setting { env, file: None, default, help, secret: true }
}

/// In the order an operator meets them: where Tether runs, what it talks to, then tuning.
pub const SETTINGS: &[Setting] = &[
    setting(
        "TETHER_CONFIG",
        None,
        "Leptos.toml",
        "The settings file. Flags beat the environment, which beats the file, which beats the defaults.",
    ),
    setting(
        "TETHER_MODE",
        Some("[server] mode"),
        "none: required",
        "`production` (talk to Vercel) or `sandbox` (the bundled simulator plays Vercel). Never guessed from \
         which secrets are present.",
    ),
    setting("TETHER_ADDR", Some("[server] addr"), "127.0.0.1:3000", "Where to listen (ip:port)."),
    setting(
        "TETHER_PUBLIC_URL",
        Some("[server] public_url"),
        "http://{addr}",
        "The public origin; the Redirect URL is {public_url}/callback. https outside sandbox mode (loopback \
         excepted).",
    ),
    setting(
        "TETHER_DATA_DIR",
        Some("[server] data_dir"),
        "data",
        "The SQLite file and, in sandbox mode, the generated seal key.",
    ),
    setting(
        "TETHER_SITE_ROOT",
        Some("[server] site_root"),
        "target/site",
        "Where cargo-leptos put the wasm, JS and CSS.",
    ),
    setting(
        "TETHER_LOG_FORMAT",
        Some("[server] log_format"),
        "text",
        "`text` or `json` (one object per line). RUST_LOG sets the levels.",
    ),
    setting(
        "TETHER_CLIENT_IP_HEADER",
        Some("[server] client_ip_header"),
        "none: the peer address",
        "Behind a load balancer, the header it appends the client's address to (its last address counts). \
         Rate limits are per client.",
    ),
    setting(
        "TETHER_CLIENT_IPV6_PREFIX",
        Some("[server] client_ipv6_prefix"),
        "64",
        "How many leading bits of an IPv6 address count as one client for the rate limits (16 to 128); an \
         IPv4 address counts alone, also IPv4-mapped.",
    ),
    setting(
        "TETHER_REQUEST_TIMEOUT_SECS",
        Some("[server] request_timeout_secs"),
        "30",
        "The most a whole request may take before it is answered 408.",
    ),
    setting(
        "TETHER_DATABASE_MAX_CONNECTIONS",
        Some("[server] database_max_connections"),
        "8",
        "The database pool size of each instance.",
    ),
    setting(
        "TETHER_MIGRATE_AT_START",
        Some("[server] migrate_at_start"),
        "true",
        "`false` when an operator runs `server migrate` once before rolling out instances.",
    ),
    setting("TETHER_VERCEL_API_URL", Some("[vercel] api_url"), "https://api.vercel.com", "Vercel's REST API."),
    setting(
        "TETHER_VERCEL_DASHBOARD_URL",
        Some("[vercel] dashboard_url"),
        "https://vercel.com",
        "Vercel's dashboard; `next` is only ever followed to its origin.",
    ),
    setting(
        "TETHER_VERCEL_CLIENT_ID",
        Some("[vercel] client_id"),
        "none: required in production",
        "The integration's Client (Integration) ID from Vercel's Integration Console.",
    ),
    setting(
        "TETHER_INTEGRATION_SLUG",
        Some("[vercel] integration_slug"),
        "tether",
        "The integration's URL slug: the external flow sends users to {dashboard}/integrations/{slug}/new.",
    ),
    setting(
        "TETHER_SIMULATOR_URL",
        Some("[sandbox] simulator_url"),
        "http://127.0.0.1:3100",
        "The Vercel simulator, in sandbox mode.",
    ),
    setting(
        "TETHER_PROVIDER_KIND",
        Some("[provider] kind"),
        "builtin",
        "`builtin` (resources in Tether's database, env vars from the [[provider.env]] templates) or `http` (the \
         vendor's system, over docs/provider-contract.yaml; it names the env vars itself).",
    ),
    setting(
        "TETHER_PROVIDER_URL",
        Some("[provider] base_url"),
        "none",
        "With `http`: the contract's base URL; https outside sandbox mode (loopback excepted).",
    ),
    setting(
        "TETHER_PROVIDER_ON_UNINSTALL",
        Some("[provider] on_uninstall"),
        "keep",
        "`keep` or `release`: whether a resource Tether created is released once nothing links it any more \
         (its last project disconnected, or its installation removed). What the user only connected is never \
         released.",
    ),
    setting(
        "TETHER_PROVIDER_ACCOUNT_LINK_URL",
        Some("[provider] account_link_url"),
        "none",
        "With `http`, optional: the vendor's sign-in page; the popup asks the user to sign in there first.",
    ),
    secret(
        "TETHER_VERCEL_CLIENT_SECRET",
        "none: required in production",
        "The integration's Client Secret; it also verifies webhook signatures.",
    ),
    secret(
        "TETHER_VERCEL_CLIENT_SECRET_PREVIOUS",
        "none",
        "While Vercel rotates the client secret, webhooks signed with the old one still verify.",
    ),
    secret(
        "TETHER_SEAL_KEYS",
        "none: required in production; generated in sandbox mode",
        "id:base64(32 bytes)[,id:key…]: the first seals, all open. Rotate with `server rewrap`.",
    ),
    // It may hold a password: no flag, though the settings file may name it.
    Setting {
        env: "TETHER_DATABASE_URL",
        file: Some("[server] database_url"),
        default: "sqlite://{data_dir}/tether.db",
        help: "sqlite://… (one instance) or postgres://… (any number of instances).",
        secret: true,
    },
    secret(
        "TETHER_OPERATOR_TOKEN",
        "none: /metrics and /operator answer 404",
        "At least 32 characters: the bearer token (Authorization: Bearer …) that opens /metrics and the \
         operator's endpoints (/operator: installations, recent failures, parked webhooks and their replay).",
    ),
    secret(
        "TETHER_PROVIDER_SECRETS",
        "none: required with `http`",
        "id:whsec_base64[,…], newest first: every call to the vendor's system is signed with each.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_follow_the_variable_names_and_are_unique() {
        let flags: Vec<String> = SETTINGS.iter().map(Setting::flag).collect();
        assert!(flags.contains(&"public-url".to_owned()));
        let mut unique = flags.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), flags.len());
        for s in SETTINGS.iter().filter(|s| s.secret && s.env != "TETHER_DATABASE_URL") {
            assert!(s.file.is_none(), "{} is a secret: environment only", s.env);
        }
    }
}
