use anyhow::Context;
use server::{config::Settings, startup};

const USAGE: &str = "usage: server [check-config | migrate | rewrap | provider-check <base_url>]
  (no argument)  serve Tether with the settings from Leptos.toml and TETHER_* variables
  check-config   check the settings and print what to enter in Vercel's Integration Console
  migrate        apply the database migrations this build has, then exit (for operators who
                 run them once before rolling out instances with TETHER_MIGRATE_AT_START=false)
  rewrap         re-seal every stored secret under the first key of TETHER_SEAL_KEYS
  provider-check <base_url>
                 call a vendor's implementation of the provider contract (docs/provider-contract.yaml)
                 with requests signed by TETHER_PROVIDER_SECRETS, and print what passes and fails";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let command = std::env::args().nth(1);
    match command.as_deref() {
        None => {}
        Some("check-config") => {
            print!("{}", server::console::report(&settings_or_exit()));
            return Ok(());
        }
        Some("rewrap") => return rewrap().await,
        Some("migrate") => return migrate().await,
        Some("provider-check") => return provider_check(std::env::args().nth(2)).await,
        Some(_) => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
    let json = std::env::var("TETHER_LOG_FORMAT").is_ok_and(|v| v == "json");
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into());
    if json {
        tracing_subscriber::fmt().json().with_env_filter(filter).init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let settings = settings_or_exit();
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
async fn provider_check(base: Option<String>) -> anyhow::Result<()> {
    use server::provider::{conformance, signing};
    let base = match base.as_deref().map(url::Url::parse) {
        Some(Ok(base)) => base,
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
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
    let checks = conformance::run(base, keys).await;
    for check in &checks {
        match &check.failure {
            None => println!("PASS  {}", check.name),
            Some(why) => println!("FAIL  {}: {why}", check.name),
        }
    }
    let failed = checks.iter().filter(|c| c.failure.is_some()).count();
    println!("{} of {} checks passed", checks.len() - failed, checks.len());
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// The settings, or the problems with them and exit status 2.
fn settings_or_exit() -> Settings {
    match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("tether: {error}");
            std::process::exit(2);
        }
    }
}

async fn migrate() -> anyhow::Result<()> {
    let settings = settings_or_exit();
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
async fn rewrap() -> anyhow::Result<()> {
    let settings = settings_or_exit();
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
