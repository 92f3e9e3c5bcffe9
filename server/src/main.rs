use std::collections::HashMap;

use anyhow::Context;
use clap::{parser::ValueSource, Arg, ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use server::{
    settings::{catalog::SETTINGS, Settings},
    startup,
};

/// Tether: the Redirect URL, Configure page and webhook receiver of a Vercel integration.
///
/// With no subcommand, serves. Every setting below can also come from the settings file
/// (TETHER_CONFIG) or the environment; a flag beats the environment, which beats the file.
#[derive(Parser)]
#[command(name = "server", version, after_long_help = secrets_help(), after_help = "Secrets: see --help.")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Check the settings and print what to enter in Vercel's Integration Console
    CheckConfig,
    /// Apply the database migrations this build has, then exit (run it once before rolling out
    /// instances started with TETHER_MIGRATE_AT_START=false)
    Migrate,
    /// Re-seal every stored secret under the first key of TETHER_SEAL_KEYS
    Rewrap,
    /// Call a vendor's implementation of the provider contract (docs/provider-contract.yaml)
    /// with requests signed by TETHER_PROVIDER_SECRETS, and print what passes and fails
    ProviderCheck {
        /// The implementation's base URL
        base_url: url::Url,
        /// Your sign-in page (TETHER_PROVIDER_ACCOUNT_LINK_URL): also check its single sign-on
        #[arg(long)]
        sign_in_url: Option<url::Url>,
    },
}

/// The parser: the subcommands, and a flag for each setting that is not a secret.
fn command() -> clap::Command {
    SETTINGS.iter().filter(|s| !s.secret).fold(Cli::command(), |command, setting| {
        let file = setting.file_key().map(|key| format!(" [file: {key}]")).unwrap_or_default();
        command.arg(
            Arg::new(setting.env)
                .long(setting.flag())
                .env(setting.env)
                // Only the names: a value from the environment is the operator's business.
                .hide_env_values(true)
                .value_name("VALUE")
                .global(true)
                .help(format!("{} [default: {}]{file}", setting.help, setting.default.shown())),
        )
    })
}

/// The secrets, which have no flags: environment only.
fn secrets_help() -> String {
    let mut text = String::from("Secrets (environment only, never flags):\n");
    for setting in SETTINGS.iter().filter(|s| s.secret) {
        let file = setting.file_key().map(|key| format!(" [file: {key}]")).unwrap_or_default();
        let default = setting.default.shown();
        text.push_str(&format!("  {}\n          {} [default: {default}]{file}\n", setting.env, setting.help));
    }
    text
}

/// The settings given as flags, by variable name. Values from the environment are left to
/// [`Settings::load`], which reads an empty secret as set (and wrong), not as unset.
fn flags(matches: &ArgMatches) -> HashMap<&'static str, String> {
    SETTINGS
        .iter()
        .filter(|s| !s.secret && matches.value_source(s.env) == Some(ValueSource::CommandLine))
        .filter_map(|s| Some((s.env, matches.get_one::<String>(s.env)?.clone())))
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let matches = command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    let flags = flags(&matches);
    match cli.command {
        None => {}
        Some(Command::CheckConfig) => {
            print!("{}", server::console::report(&settings_or_exit(&flags)));
            return Ok(());
        }
        Some(Command::Rewrap) => return rewrap(&flags).await,
        Some(Command::Migrate) => return migrate(&flags).await,
        Some(Command::ProviderCheck { base_url, sign_in_url }) => return provider_check(base_url, sign_in_url).await,
    }
    let settings = settings_or_exit(&flags);
    server::telemetry::init_logging(settings.log_json);
    for notice in &settings.notices {
        tracing::warn!("{notice}");
    }
    let addr = settings.addr;
    let public_url = settings.public_url.clone();
    let sandbox = settings.sandbox.then(|| settings.vercel.dashboard_url.clone());
    let state = startup::build_state(settings).await.context("cannot start")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (set TETHER_ADDR)"))?;
    match sandbox {
        Some(sim) => {
            tracing::info!(%public_url, simulator = %sim, "Tether listening in sandbox mode; open the simulator to install")
        }
        None => tracing::info!(%public_url, "Tether listening"),
    }
    startup::serve(listener, state).await?;
    Ok(())
}

/// Exit status 1 when any check fails, 2 when it cannot run.
async fn provider_check(base: url::Url, sign_in: Option<url::Url>) -> anyhow::Result<()> {
    use server::{provider::conformance, signing};
    let keys = match std::env::var("TETHER_PROVIDER_SECRETS").map(|spec| signing::parse_keys(&spec)) {
        Ok(Ok(keys)) => keys,
        Ok(Err(error)) => {
            eprintln!("tether: TETHER_PROVIDER_SECRETS: {error}");
            std::process::exit(2);
        }
        Err(_) => {
            eprintln!("tether: set TETHER_PROVIDER_SECRETS to the id:whsec_… secret your implementation verifies");
            std::process::exit(2);
        }
    };
    println!("Checking the provider contract at {base}");
    let skipped_sso = sign_in.is_none();
    let checks = conformance::run(base, keys, sign_in).await;
    for check in &checks {
        match &check.failure {
            None => println!("PASS  {}", check.name),
            Some(why) => println!("FAIL  {}: {why}", check.name),
        }
    }
    if skipped_sso {
        let count = conformance::SSO_CHECKS.len();
        println!("SKIP  single sign-on ({count} checks): give --sign-in-url to check your sign-in page");
    }
    let failed = checks.iter().filter(|c| c.failure.is_some()).count();
    println!("{} of {} checks passed", checks.len() - failed, checks.len());
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// The settings, or the problems with them and exit status 2.
fn settings_or_exit(flags: &HashMap<&str, String>) -> Settings {
    match Settings::load(flags) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("tether: {error}");
            std::process::exit(2);
        }
    }
}

async fn migrate(flags: &HashMap<&str, String>) -> anyhow::Result<()> {
    let settings = settings_or_exit(flags);
    let options = server::store::Options { migrate: false, ..settings.database };
    let store = server::store::Store::connect_with(settings.database_url.expose(), options)
        .await
        .context("cannot open the database")?;
    let before = store.schema().await?;
    store.migrate().await.context("migrations stopped")?;
    match before {
        server::store::Schema::Behind(applied) => println!("migrate: applied {applied:?}; the schema is current"),
        _ => println!("migrate: the schema was already current"),
    }
    Ok(())
}

/// Moves every sealed value to the newest key, so an old key can then be removed.
async fn rewrap(flags: &HashMap<&str, String>) -> anyhow::Result<()> {
    let settings = settings_or_exit(flags);
    let store = server::store::Store::connect_with(settings.database_url.expose(), settings.database)
        .await
        .context("cannot open the database")?;
    let outcome = store.rewrap(&settings.sealer).await.context("rewrap stopped")?;
    let current = settings.sealer.current_key_id();
    println!(
        "rewrap: {} re-sealed under `{current}`, {} already under it, {} could not be opened",
        outcome.rewrapped, outcome.already_current, outcome.failed
    );
    let report = store.key_report(&settings.sealer).await?;
    if outcome.failed > 0 || report.missing_rows() > 0 {
        eprintln!(
            "tether: values sealed under keys not configured: {:?}; add those keys and run again",
            report.missing
        );
        std::process::exit(1);
    }
    Ok(())
}
