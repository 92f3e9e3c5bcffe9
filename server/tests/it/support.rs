//! A world for each test: the simulator and Tether on port 0, a fresh database, a browser.
//!
//! The database is a SQLite file in the world's directory, or, in the PostgreSQL pass
//! (`TETHER_TEST_BACKEND=postgres`, which `cargo xtask test` runs when `TETHER_TEST_POSTGRES_URL`
//! is set), a PostgreSQL database of its own named after that directory.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use reqwest::{header, redirect::Policy, StatusCode};
use server::{settings::Settings, startup};
use sqlx::{Connection, PgConnection};
use tokio::net::TcpListener;
use vercel_sim::{SimConfig, SimHandle};

pub struct World {
    pub tether: String,
    pub sim: SimHandle,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// A browser: keeps cookies, does not follow redirects so each hop can be checked.
    pub browser: reqwest::Client,
}

pub async fn world() -> World {
    world_with(None).await
}

/// A world whose Tether reads this Leptos.toml text.
pub async fn world_with(config_file: Option<&str>) -> World {
    world_with_env(config_file, &[]).await
}

/// The same with more environment variables for Tether.
pub async fn world_with_env(config_file: Option<&str>, extra_env: &[(&str, String)]) -> World {
    let tether_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tether = format!("http://{}", tether_listener.local_addr().unwrap());
    let sim_url = format!("http://{}", sim_listener.local_addr().unwrap());
    let mut sim_config = SimConfig::new(&sim_url, format!("{tether}/callback"));
    sim_config.webhook_url = Some(format!("{tether}/webhooks/vercel"));
    sim_config.base_url = Some(tether.clone());
    sim_config.login_url = Some(format!("{tether}/sso"));
    let sim = vercel_sim::serve(sim_listener, sim_config).await.unwrap();
    let data_dir = std::env::temp_dir().join(format!("tether-it-{}", rand::random::<u64>()));
    let database_url = database_url(&data_dir).await;
    let env: HashMap<&str, String> = HashMap::from([
        ("TETHER_DATABASE_URL", database_url.clone()),
        ("TETHER_ADDR", tether_listener.local_addr().unwrap().to_string()),
        ("TETHER_SIMULATOR_URL", sim_url.clone()),
        ("TETHER_DATA_DIR", data_dir.display().to_string()),
        ("TETHER_MODE", "sandbox".to_string()),
    ]);
    let mut env = env;
    env.extend(extra_env.iter().map(|(k, v)| (*k, v.clone())));
    let settings = Settings::from_sources(config_file, |k| env.get(k).cloned()).unwrap();
    let state = startup::build_state(settings).await.unwrap();
    tokio::spawn(startup::serve(tether_listener, state));
    let browser = reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).build().unwrap();
    World { tether, sim, data_dir, database_url, browser }
}

pub struct Installed {
    pub configuration_id: String,
    pub callback_url: String,
    pub page: String,
}

impl World {
    /// Vercel opens the Redirect URL; Tether answers 303 to its own install page.
    pub async fn open_popup(&self, account: &str) -> Installed {
        let callback_url = self.sim.sim.begin_install(account, "marketplace").unwrap();
        let response = self.browser.get(&callback_url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let location = response.headers()[header::LOCATION].to_str().unwrap().to_owned();
        assert!(location.starts_with("/install/icfg_"), "{location}");
        assert!(!location.contains("code"), "the code must leave the address bar: {location}");
        let configuration_id = location.trim_start_matches("/install/").to_owned();
        let response = self.browser.get(format!("{}{location}", self.tether)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[header::REFERRER_POLICY], "no-referrer");
        let csp = response.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
        let page = response.text().await.unwrap();
        let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce in the CSP");
        // Every script carries it (a page without an island, like the sign-in step, has none).
        let tags = page.split("<script").skip(1).map(|rest| rest.split('>').next().unwrap_or_default());
        assert!(tags.clone().all(|tag| tag.contains(&format!("nonce=\"{nonce}\""))), "a script without the nonce");
        assert!(tags.count() > 0 || page.contains("account-link"), "the install page loads its island");
        assert!(csp.contains("'wasm-unsafe-eval'") && !csp.contains("'unsafe-eval'"));
        Installed { configuration_id, callback_url, page }
    }

    /// Submits one of Tether's forms as a browser without JavaScript would.
    pub async fn post_form(&self, action: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.browser
            .post(format!("{}/api/{action}", self.tether))
            .header(header::ACCEPT, "text/html")
            .header(header::ORIGIN, &self.tether)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.browser.get(format!("{}{path}", self.tether)).send().await.unwrap()
    }

    /// Presses Connect on the page without JavaScript: a plain form post.
    pub async fn connect(&self, configuration_id: &str, choices: &[(&str, &str)]) -> reqwest::Response {
        self.connect_answering(configuration_id, choices, &[]).await
    }

    /// Connect with answers to clashes: `(project, "keep" | "replace")`.
    pub async fn connect_answering(
        &self,
        configuration_id: &str,
        choices: &[(&str, &str)],
        clashes: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form = vec![
            ("configuration_id".to_string(), configuration_id.to_string()),
            ("finish".to_string(), "1".to_string()),
        ];
        form.extend(choices.iter().map(|(p, c)| (format!("choices[{p}]"), c.to_string())));
        form.extend(clashes.iter().map(|(p, a)| (format!("clashes[{p}]"), a.to_string())));
        self.browser
            .post(format!("{}/api/link_projects", self.tether))
            .header(header::ACCEPT, "text/html")
            .header(header::ORIGIN, &self.tether)
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    pub async fn installation_rows(&self) -> i64 {
        self.store().await.count_installations().await.unwrap()
    }

    pub async fn link_external_id(&self, configuration_id: &str, project_id: &str) -> Option<String> {
        self.store().await.link_external_id(&icfg(configuration_id), project_id).await.unwrap()
    }

    /// A second connection to the test's database, to look at what Tether stored.
    pub async fn store(&self) -> server::store::Store {
        server::store::Store::connect(&self.database_url).await.unwrap()
    }

    /// Waits (up to ten seconds) until the worker has applied an event; returns its outcome.
    pub async fn applied(&self, event_id: &str) -> String {
        let store = self.store().await;
        for _ in 0..200 {
            if let Some((state, outcome)) = store.event_state(event_id).await.unwrap() {
                if state == "done" {
                    return outcome.unwrap_or_default();
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("event {event_id} was not applied");
    }

    /// Waits (up to fifteen seconds) until the provider outbox has sent every job for the vendor;
    /// returns them as (id, kind, state). Jobs for Vercel (a native installation's reads) are
    /// left out: an installation a test made up with a token Vercel never issued keeps failing
    /// those, as it would at Vercel.
    pub async fn jobs_sent(&self) -> Vec<(String, String, String)> {
        let store = self.store().await;
        let for_vendor = |jobs: Vec<(String, String, String)>| -> Vec<(String, String, String)> {
            jobs.into_iter().filter(|(_, kind, _)| !kind.starts_with("read_")).collect()
        };
        for _ in 0..300 {
            let jobs = for_vendor(store.jobs().await.unwrap());
            if jobs.iter().all(|(_, _, state)| state == "done") {
                return jobs;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the provider outbox did not empty: {:?}", store.jobs().await.unwrap());
    }

    /// The types of the notices written for the vendor so far, oldest first.
    pub async fn notice_types(&self) -> Vec<String> {
        let store = self.store().await;
        let bodies = store.job_bodies("notice").await.unwrap();
        bodies
            .iter()
            .filter_map(|body| {
                serde_json::from_str::<serde_json::Value>(body).ok()?["type"].as_str().map(str::to_owned)
            })
            .collect()
    }

    /// Posts a body to the webhook endpoint with the given signature header.
    pub async fn post_webhook(&self, body: &[u8], signature: Option<&str>) -> StatusCode {
        let mut request = reqwest::Client::new().post(format!("{}/webhooks/vercel", self.tether)).body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header("x-vercel-signature", signature);
        }
        request.send().await.unwrap().status()
    }

    pub async fn database_bytes(&self) -> Vec<u8> {
        stored_bytes(&self.data_dir).await
    }
}

/// Where the last step's "Return to Vercel" leads: Vercel's `next`, unescaped.
pub fn return_link(page: &str) -> String {
    let start =
        page.find(r#"id="return" href=""#).expect("the last step has its way back") + r#"id="return" href=""#.len();
    page[start..].split('"').next().unwrap().replace("&amp;", "&")
}

/// The id of the resource the install page offers under this name.
pub fn resource_id(page: &str, name: &str) -> String {
    let label = page.find(&format!(">Connect {name}<")).expect("the resource is offered");
    let start = page[..label].rfind("value=\"existing:").unwrap() + "value=\"existing:".len();
    page[start..].split('"').next().unwrap().to_owned()
}

/// The real binary in production mode (credentials from the environment, no settings file).
/// An installation id as the store takes it.
pub fn icfg(id: &str) -> server::params::ConfigurationId {
    server::params::ConfigurationId::parse(id).expect("an installation id")
}

pub fn production(secret: &str) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .env("TETHER_CONFIG", "/dev/null")
        .env("TETHER_MODE", "production")
        .env("TETHER_VERCEL_CLIENT_ID", vercel_sim::DEFAULT_CLIENT_ID)
        .env("TETHER_VERCEL_CLIENT_SECRET", secret)
        .env("TETHER_SEAL_KEYS", server::seal::Sealer::generate_spec("k1"));
    command
}

/// Starts the binary on `port` against the simulator, with a fresh data directory whose
/// `output.log` collects stdout and stderr; returns once `/healthz` answers.
pub async fn serve_logged(
    command: &mut std::process::Command,
    port: u16,
    sim_url: &str,
) -> (std::process::Child, PathBuf) {
    let dir = std::env::temp_dir().join(format!("tether-process-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    (serve_logged_in(command, port, sim_url, &dir).await, dir)
}

/// The same in a given data directory (a restart keeps its database); output is appended.
pub async fn serve_logged_in(
    command: &mut std::process::Command,
    port: u16,
    sim_url: &str,
    dir: &std::path::Path,
) -> std::process::Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("output.log")).unwrap();
    if !command.get_envs().any(|(key, _)| key == "TETHER_DATABASE_URL") {
        command.env("TETHER_DATABASE_URL", database_url(dir).await);
    }
    let child = command
        .env("TETHER_ADDR", format!("127.0.0.1:{port}"))
        .env("TETHER_DATA_DIR", dir)
        .env("TETHER_VERCEL_API_URL", sim_url)
        .env("TETHER_VERCEL_DASHBOARD_URL", sim_url)
        .stdout(std::process::Stdio::from(log.try_clone().unwrap()))
        .stderr(std::process::Stdio::from(log))
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    child
}

/// The real binary in production mode against its own simulator, restartable in one data
/// directory: for crash, restart and key-rotation tests.
pub struct Deployment {
    pub tether: String,
    pub port: u16,
    pub sim: SimHandle,
    pub dir: PathBuf,
    pub secret: String,
}

impl Deployment {
    /// A connection to the deployment's database, as a second process would open it.
    pub async fn store(&self) -> server::store::Store {
        server::store::Store::connect(&database_url(&self.dir).await).await.unwrap()
    }

    pub async fn new() -> Self {
        let secret = format!("canary-{}", rand::random::<u64>());
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let tether = format!("http://127.0.0.1:{port}");
        let sim_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim_url = format!("http://{}", sim_listener.local_addr().unwrap());
        let mut config = SimConfig::new(&sim_url, format!("{tether}/callback"));
        config.client_secret = secret.clone();
        config.webhook_url = Some(format!("{tether}/webhooks/vercel"));
        // Native integrations: the Partner API's Base URL and the Redirect Login URL.
        config.base_url = Some(tether.clone());
        config.login_url = Some(format!("{tether}/sso"));
        let sim = vercel_sim::serve(sim_listener, config).await.unwrap();
        let dir = std::env::temp_dir().join(format!("tether-deployment-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        Self { tether, port, sim, dir, secret }
    }

    /// Starts the server with these seal keys; returns once it answers.
    pub async fn start(&self, seal_keys: &str) -> std::process::Child {
        self.start_with(seal_keys, &[]).await
    }

    /// The same with more environment variables.
    pub async fn start_with(&self, seal_keys: &str, vars: &[(&str, &str)]) -> std::process::Child {
        let mut command = production(&self.secret);
        command.env("TETHER_SEAL_KEYS", seal_keys).envs(vars.iter().copied());
        serve_logged_in(&mut command, self.port, &self.sim.url(), &self.dir).await
    }

    /// Another instance of the same deployment, as behind a load balancer: on its own port and
    /// with its own data directory (for its log), but the same public URL, keys and database.
    /// Returns it with its address and its `output.log`.
    pub async fn start_another(
        &self,
        seal_keys: &str,
        vars: &[(&str, &str)],
    ) -> (std::process::Child, String, PathBuf) {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("tether-instance-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut command = production(&self.secret);
        command
            .env("TETHER_SEAL_KEYS", seal_keys)
            .env("TETHER_PUBLIC_URL", &self.tether)
            .env("TETHER_DATABASE_URL", database_url(&self.dir).await)
            .envs(vars.iter().copied());
        let child = serve_logged_in(&mut command, port, &self.sim.url(), &dir).await;
        (child, format!("http://127.0.0.1:{port}"), dir.join("output.log"))
    }

    /// A browser that keeps its cookies across restarts and does not follow redirects.
    pub fn browser() -> reqwest::Client {
        reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).build().unwrap()
    }

    /// Vercel opens the popup; returns the configuration id from Tether's redirect.
    pub async fn install(&self, browser: &reqwest::Client) -> String {
        let callback = self.sim.sim.begin_install(vercel_sim::TEAM_ID, "marketplace").unwrap();
        let response = browser.get(&callback).send().await.unwrap();
        let Some(location) = response.headers().get(header::LOCATION) else {
            // Say why: the page names the failure, and the server's log (in the deployment's
            // folder) its cause.
            let status = response.status();
            let page = response.text().await.unwrap_or_default();
            let title = page.split("<title>").nth(1).and_then(|t| t.split("</title>").next()).unwrap_or_default();
            let log = std::fs::read_to_string(self.dir.join("output.log")).unwrap_or_default();
            let lines: Vec<_> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(15)..];
            panic!("the callback answered {status} without a redirect: {title}\n{}", tail.join("\n"));
        };
        location.to_str().unwrap().trim_start_matches("/install/").to_owned()
    }

    /// Posts a form to a server function as the popup's plain form would.
    pub async fn post(
        &self,
        browser: &reqwest::Client,
        function: &str,
        form: &[(String, String)],
    ) -> reqwest::Response {
        browser
            .post(format!("{}/api/{function}", self.tether))
            .header(header::ORIGIN, &self.tether)
            .header(header::ACCEPT, "text/html")
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

/// Stops a server process the hard way and waits for it.
pub fn kill(mut child: std::process::Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// True in the PostgreSQL pass. Tests about SQLite itself (its files) are named `sqlite_…`;
/// that pass skips them by name and says how many.
pub fn on_postgres() -> bool {
    std::env::var("TETHER_TEST_BACKEND").as_deref() == Ok("postgres")
}

/// The database a Tether whose data directory is `dir` uses; the same directory always gets the
/// same database, so a restarted process finds what it stored.
pub async fn database_url(dir: &Path) -> String {
    if !on_postgres() {
        return format!("sqlite://{}/tether.db", dir.display());
    }
    let admin = std::env::var("TETHER_TEST_POSTGRES_URL")
        .expect("the PostgreSQL pass needs TETHER_TEST_POSTGRES_URL, a database URL whose role may create databases");
    let name: String = dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let name = format!("it_{name}");
    let mut conn = PgConnection::connect(&admin).await.expect("TETHER_TEST_POSTGRES_URL answers");
    // Databases earlier runs left go before this run creates its own; one in use stays.
    static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    SWEPT
        .get_or_init(|| async {
            let old: Vec<String> =
                sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE 'it\\_tether\\_%'")
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            for name in old {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&mut conn).await;
            }
        })
        .await;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut conn)
        .await
        .unwrap();
    if exists.is_none() {
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
    }
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&name);
    url.to_string()
}

/// Everything the database holds, to search for what must not be there: SQLite's files as they
/// are on disk; PostgreSQL's rows as text, with binary columns decoded.
pub async fn stored_bytes(dir: &Path) -> Vec<u8> {
    if !on_postgres() {
        return ["tether.db", "tether.db-wal", "tether.db-shm"]
            .iter()
            .filter_map(|f| std::fs::read(dir.join(f)).ok())
            .flatten()
            .collect();
    }
    let mut conn = PgConnection::connect(&database_url(dir).await).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let mut bytes = Vec::new();
    for table in tables {
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT row_to_json(t)::text FROM {table} t"))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        for row in rows {
            let value: serde_json::Value = serde_json::from_str(&row).unwrap();
            for field in value.as_object().into_iter().flat_map(|o| o.values()) {
                if let Some(binary) = field.as_str().and_then(|s| s.strip_prefix("\\x")) {
                    bytes.extend(hex::decode(binary).unwrap());
                }
            }
            bytes.extend(row.into_bytes());
        }
    }
    bytes
}
