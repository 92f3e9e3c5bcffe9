//! `cargo xtask run | test`: installs what is missing, builds, starts, tests. Plain Rust so the
//! same steps work on a laptop and in CI.

mod bench;
mod dist;
mod tools;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
};

use anyhow::{bail, Context, Result};

const USAGE: &str = "usage: cargo xtask <run [--provider http] | test | prepare | dist [--check] | bench>
  run   install what is missing, build the site (release) and the servers (debug: a quicker
        first build and rebuild), start Tether (http://127.0.0.1:3000) and the Vercel simulator
        (http://127.0.0.1:3100) with SQLite; with --provider http, also the reference vendor
        (http://127.0.0.1:3200) as Tether's provider over the contract
  test  every test layer: unit and integration tests, Playwright in Chromium, then the tarball
        of `dist` unpacked elsewhere and installed through
  prepare [--background]
        what `test` does beside its first steps: install the tools (Chromium included), build
        the site and the release binaries; `test` runs it with --background, which stops it
        and what it started when its standard input closes
  dist [--check]
        the release build as target/dist/tether-<version>-<target>.tar.gz, for another machine
        (server, site, sample settings, INSTALL.md); --check then unpacks and installs through it
        as `test` does
  bench every measured figure (release build) in one table, also in target/bench/report.md:
        the popup's weight, load times and linking in Chromium, requests/s with wrk, memory,
        webhook ingestion and scale-out";

fn main() -> Result<()> {
    let started = std::time::Instant::now();
    let root = workspace_root()?;
    std::env::set_current_dir(&root)?;
    match std::env::args().nth(1).as_deref() {
        Some("run") => match std::env::args().nth(2).as_deref() {
            None => run(&root, Provider::Builtin, started),
            Some("--provider") if std::env::args().nth(3).as_deref() == Some("http") => {
                run(&root, Provider::Http, started)
            }
            Some("--provider") if std::env::args().nth(3).as_deref() == Some("builtin") => {
                run(&root, Provider::Builtin, started)
            }
            _ => {
                eprintln!("{USAGE}");
                std::process::exit(2);
            }
        },
        Some("test") => {
            let result = test(&root);
            print_times(started, if result.is_ok() { "every layer passed" } else { "stopped by a failure" });
            result
        }
        Some("prepare") => {
            let background = std::env::args().nth(2).as_deref() == Some("--background");
            if background {
                stop_with_parent();
            }
            let result = prepare(&root, Profile::Release, tools::ensure_all);
            print_times(started, if result.is_ok() { "prepared" } else { "stopped by a failure" });
            result
        }
        Some("dist") => {
            let tarball = dist::dist(&root)?;
            match std::env::args().nth(2).as_deref() {
                None => Ok(()),
                Some("--check") => {
                    tools::ensure_all(&root)?;
                    dist::check(&root, &tarball)
                }
                Some(_) => {
                    eprintln!("{USAGE}");
                    std::process::exit(2);
                }
            }
        }
        Some("bench") => bench::bench(&root),
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}

fn workspace_root() -> Result<PathBuf> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    Ok(here.parent().context("xtask lives inside the workspace")?.to_path_buf())
}

/// Each step begun so far, with when: the time per step is printed at the end, so a slow set-up
/// says where its minutes went.
static STEPS: std::sync::Mutex<Vec<(String, std::time::Instant)>> = std::sync::Mutex::new(Vec::new());

pub fn step(message: &str) {
    eprintln!("\n==> {message}");
    let mut steps = STEPS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    steps.push((message.to_owned(), std::time::Instant::now()));
}

/// The time table of `prepare --background`, from its log: printed with the run's own.
static BACKGROUND_TIMES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn keep_times_of(log: &str) {
    let table = log.lines().skip_while(|line| !line.starts_with("==> Time per step")).skip(1);
    let mut kept = BACKGROUND_TIMES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    kept.extend(table.map(str::to_owned));
}

/// The time of each step (until the next began, the last until now) and the whole run's, since
/// xtask started; `end` names where the run got to.
fn print_times(started: std::time::Instant, end: &str) {
    let steps = STEPS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
    let now = std::time::Instant::now();
    let minutes = |d: std::time::Duration| format!("{:>3}m {:02}s", d.as_secs() / 60, d.as_secs() % 60);
    eprintln!("\n==> Time per step");
    if let Some((_, first)) = steps.first() {
        eprintln!("  {}  before the first step", minutes(first.duration_since(started)));
    }
    for (index, (name, at)) in steps.iter().enumerate() {
        let until = steps.get(index + 1).map_or(now, |(_, next)| *next);
        let name: String = name.chars().take(90).collect();
        eprintln!("  {}  {name}", minutes(until.duration_since(*at)));
    }
    let background = BACKGROUND_TIMES.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
    if !background.is_empty() {
        eprintln!("  in the background from the start, at the lowest priority (cargo xtask prepare):");
        for line in background {
            eprintln!("    {line}");
        }
    }
    eprintln!("  {}  in all, {end}", minutes(now.duration_since(started)));
}

/// Runs a command to completion with inherited output; a failure names the command.
pub fn sh(command: &mut Command) -> Result<()> {
    let status: ExitStatus = command.status().with_context(|| format!("cannot start {:?}", command.get_program()))?;
    if !status.success() {
        bail!("{:?} failed with {status}", command);
    }
    Ok(())
}

/// The site's name in `[[workspace.metadata.leptos]]`: its files are `pkg/{SITE}.wasm` and so on.
const SITE: &str = "tether";

/// How the binaries are built. The site is always a release build: every user downloads the wasm.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// The tests' browser run, the tarball and the bench.
    Release,
    /// `run`: a cold debug build of the binaries takes minutes less than an optimised one, and a
    /// rebuild after an edit seconds; the popup it serves answers in milliseconds either way.
    Dev,
}

impl Profile {
    /// Cargo's word for it, as its build directory is named.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Dev => "debug",
        }
    }

    /// Where cargo puts the binaries.
    pub fn dir(self) -> &'static str {
        match self {
            Profile::Release => "target/release",
            Profile::Dev => "target/debug",
        }
    }
}

/// Everything the browser run and the tarball need: the tools (`ensure` says which), the site
/// (always release) and the binaries of `profile`, the binaries building in the background from
/// the first second. The tools leave a core idle for minutes (one crate compiling alone,
/// linking), and the release and debug profiles have separate build directories, so neither
/// build waits for the other's lock.
pub fn prepare(root: &Path, profile: Profile, ensure: fn(&Path) -> Result<()>) -> Result<()> {
    let binaries = Background::binaries(root, profile)?;
    ensure(root)?;
    site(root)?;
    binaries.wait().map(drop)
}

/// cargo-leptos builds only the site (wasm, JS, CSS), in its own target directory (target/front);
/// the binaries come from one plain `cargo build` (see `binaries`). The site's crates (app for the
/// browser, frontend) are linted while they compile, as the tests' are: clippy never checks the
/// wasm dependencies apart.
fn site(root: &Path) -> Result<()> {
    step("Building the site (release) with cargo-leptos");
    sh(linted(Command::new("cargo").args(["leptos", "build", "--release", "--frontend-only"]))
        .env("PATH", tools::path_with_tools(root)))?;
    shrink_wasm(root)?;
    precompress(&root.join("target/site/pkg"))
}

/// One `cargo build` of the server, the simulator and the reference vendor. One cargo run for the
/// three resolves features once: built after the server, the simulator and the vendor rebuilt 90
/// crates with other features (2 min 19 s on a cold machine, measured in issue 26). Always all
/// three, also where the vendor is not needed: a build of two resolves differently again, and the
/// next build of three would redo 2 minutes of crates.
fn binaries(profile: Profile) -> Command {
    let mut command = Command::new("cargo");
    command
        .arg("build")
        .args((profile == Profile::Release).then_some("--release"))
        .args(["-p", "server", "-p", "vercel-sim", "-p", "reference-vendor"])
        // What cargo-leptos would have set: Leptos names the wasm it links to from this, at compile time.
        .env("LEPTOS_OUTPUT_NAME", SITE);
    command
}

/// A command running beside the steps, its output in a log shown if it fails. Dropped unwaited (a
/// step before failed), it is stopped: killed, or, if it was given a pipe on its standard input
/// (`prepare --background`), told so by the pipe closing, so that it stops what it started too.
pub struct Background {
    child: Child,
    log: PathBuf,
    what: String,
}

impl Background {
    fn start(command: &mut Command, log: PathBuf, what: &str) -> Result<Self> {
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::File::create(&log)?;
        let child = command
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("cannot start {:?}", command.get_program()))?;
        eprintln!("\n    {what}: in the background meanwhile (its log: {})", log.display());
        Ok(Self { child, log, what: what.to_owned() })
    }

    pub fn binaries(root: &Path, profile: Profile) -> Result<Self> {
        let log = root.join(format!("target/xtask-binaries-{}.log", profile.name()));
        Self::start(&mut binaries(profile), log, &format!("the binaries ({})", profile.name()))
    }

    /// `cargo xtask prepare --background`, at the lowest priority in a process group of its own:
    /// the steps in front (the test build, then the tests) get the cores first, and the tools' and
    /// release builds take what they leave, which is most of it while the tests wait on I/O.
    fn prepare(root: &Path) -> Result<Self> {
        let xtask = std::env::current_exe().context("finding xtask's own binary")?;
        let mut command = Command::new("nice");
        command.args(["-n", "19"]).arg(xtask).args(["prepare", "--background"]).stdin(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        Self::start(
            &mut command,
            root.join("target/xtask-prepare.log"),
            "the tools, the site and the release binaries (cargo xtask prepare)",
        )
    }

    /// Waits, and returns the log.
    pub fn wait(mut self) -> Result<String> {
        step(&format!("Waiting for {}", self.what));
        // `Child::wait` closes the child's standard input first, which tells `prepare
        // --background` to stop: the pipe stays open until the child is done.
        let pipe = self.child.stdin.take();
        let status = self.child.wait()?;
        drop(pipe);
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        if !status.success() {
            bail!("{} failed ({status}):\n{text}", self.what);
        }
        Ok(text)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            match self.child.stdin.take() {
                Some(pipe) => drop(pipe),
                None => {
                    let _ = self.child.kill();
                }
            }
            let _ = self.child.wait();
        }
    }
}

/// For `prepare --background`: when the pipe on standard input closes (the `test` that started
/// it failed, or was stopped with Ctrl-C, which reaches only its own process group), everything
/// this process group started stops, this process included; no cargo is left building alone.
fn stop_with_parent() {
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        let group = format!("-{}", std::process::id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    });
}

/// A cargo command whose workspace crates clippy's driver compiles, linting as `cargo clippy --
/// -D warnings` does while it builds.
fn linted(command: &mut Command) -> &mut Command {
    command
        .env("RUSTC_WORKSPACE_WRAPPER", tools::clippy_driver())
        // How cargo-clippy hands its arguments to the driver.
        .env("CLIPPY_ARGS", "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__")
}

/// A second wasm-opt pass over what cargo-leptos produced: `-Oz` until nothing changes, and
/// without the custom sections no browser reads (producers, target features). Every user
/// downloads the wasm, so the 300 bytes this saves are worth a second of build time.
fn shrink_wasm(root: &Path) -> Result<()> {
    let wasm = root.join(format!("target/site/pkg/{SITE}.wasm"));
    let features = [
        "--enable-bulk-memory",
        "--enable-nontrapping-float-to-int",
        "--enable-sign-ext",
        "--enable-mutable-globals",
        "--enable-reference-types",
        "--enable-multivalue",
    ];
    sh(Command::new("wasm-opt")
        .args(["-Oz", "--converge", "--strip-producers", "--strip-target-features"])
        .args(features)
        .arg(&wasm)
        .arg("-o")
        .arg(&wasm)
        .env("PATH", tools::path_with_tools(root)))
}

/// Brotli at its highest quality, once at build time, beside each asset: the server sends the
/// `.br` file to browsers that accept it, instead of compressing on every request at a lower level.
fn precompress(pkg: &Path) -> Result<()> {
    for entry in std::fs::read_dir(pkg).with_context(|| format!("reading {}", pkg.display()))? {
        let path = entry?.path();
        let wanted = matches!(path.extension().and_then(|e| e.to_str()), Some("wasm" | "js" | "css"));
        if !wanted {
            continue;
        }
        let input = std::fs::read(&path)?;
        let mut output = Vec::new();
        {
            let mut writer = brotli::CompressorWriter::new(&mut output, 64 * 1024, 11, 22);
            std::io::Write::write_all(&mut writer, &input)?;
        }
        let mut target = path.clone().into_os_string();
        target.push(".br");
        std::fs::write(&target, &output)?;
        eprintln!("    {} {} B -> {} B brotli", path.display(), input.len(), output.len());
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Provider {
    /// Resources in Tether's own database.
    Builtin,
    /// The reference vendor's system, over the HTTP contract.
    Http,
}

fn run(root: &Path, provider: Provider, started: std::time::Instant) -> Result<()> {
    prepare(root, Profile::Dev, tools::ensure_build)?;
    let binaries = root.join(Profile::Dev.dir());
    step("Starting the Vercel simulator and Tether (Ctrl-C stops them)");
    let mut children = vec![Command::new(binaries.join("vercel-sim"))
        .env("SIM_ADDR", "127.0.0.1:3100")
        .env("SIM_REDIRECT_URL", "http://127.0.0.1:3000/callback")
        .spawn()
        .context("cannot start the simulator")?];
    // Chosen here, never guessed by the server: `run` is the zero-setup demo against the simulator.
    let mut tether = Command::new(binaries.join("server"));
    tether.env("TETHER_MODE", "sandbox");
    if provider == Provider::Http {
        // A secret for this run only, shared by Tether and the vendor it signs its calls for.
        let secret = format!(
            "dev:whsec_{}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, random_bytes()?)
        );
        children.push(
            Command::new(binaries.join("reference-vendor"))
                .env("REFVENDOR_ADDR", "127.0.0.1:3200")
                .env("REFVENDOR_SECRETS", &secret)
                .env("REFVENDOR_TETHER_URL", "http://127.0.0.1:3000")
                .spawn()
                .context("cannot start the reference vendor")?,
        );
        tether
            .env("TETHER_PROVIDER_KIND", "http")
            .env("TETHER_PROVIDER_URL", "http://127.0.0.1:3200/tether/v1")
            .env("TETHER_PROVIDER_ACCOUNT_LINK_URL", "http://127.0.0.1:3200/link")
            .env("TETHER_PROVIDER_SECRETS", &secret);
    }
    children.push(tether.spawn().context("cannot start Tether")?);
    eprintln!(
        "\n  Tether:            http://127.0.0.1:3000\n  Vercel simulator:  http://127.0.0.1:3100  <- open this and press Install\n"
    );
    if provider == Provider::Http {
        eprintln!("  Reference vendor:  http://127.0.0.1:3200/tether/v1  (Tether's provider)\n");
    }
    // From a cold machine to a popup being served: both must answer before the clock stops.
    if answers("127.0.0.1:3000") && answers("127.0.0.1:3100") {
        print_times(started, "Tether and the simulator answering");
    }
    let exit = wait_any(&mut children);
    for child in &mut children {
        let _ = child.kill();
    }
    exit
}

/// Whether something listens at `addr` within 30 seconds.
fn answers(addr: &str) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if std::net::TcpStream::connect(addr).is_ok() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

fn random_bytes() -> Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)?;
    Ok(bytes)
}

/// Returns when any child exits (Ctrl-C reaches them all through the terminal's process group).
fn wait_any(children: &mut [Child]) -> Result<()> {
    loop {
        for child in children.iter_mut() {
            if let Some(status) = child.try_wait()? {
                if status.success() {
                    return Ok(());
                }
                bail!("a process stopped: {status}");
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The PostgreSQL server the integration tests run against a second time (a database per test),
/// from TETHER_TEST_POSTGRES_URL, whose role must be allowed to create databases. Without it the
/// run says how many tests did not run there.
fn postgres_url() -> Result<Option<String>> {
    let Ok(url) = std::env::var("TETHER_TEST_POSTGRES_URL") else {
        let count = integration_tests()?.len();
        step(&format!(
            "PostgreSQL pass SKIPPED: {count} integration tests did not run against PostgreSQL because \
             TETHER_TEST_POSTGRES_URL is unset (set it to e.g. postgres://postgres@127.0.0.1:5432/postgres)"
        ));
        return Ok(None);
    };
    Ok(Some(url))
}

/// The integration tests named by `filter`, against PostgreSQL.
fn on_postgres(url: &str, filter: &[&str]) -> Command {
    let mut command = cargo_test();
    command
        .args(["--test", "it", "--"])
        .args(filter)
        .env("TETHER_TEST_BACKEND", "postgres")
        .env("TETHER_TEST_POSTGRES_URL", url);
    command
}

/// Tests named so check SQLite itself (its files and their modes): not applicable to PostgreSQL.
const SQLITE_ONLY: &str = "::sqlite_";

/// `cargo test` as every test step runs it: the same packages each time (cargo unifies features
/// over the packages named: `-p server` alone rebuilt crates the first run had built, 40 s on a
/// cold machine), with clippy's driver compiling the workspace's crates. It lints as `cargo clippy
/// -- -D warnings` does while it builds, so the dependencies are compiled once instead of also
/// checked once for clippy (measured in issue 26), and every later step finds them built.
fn cargo_test() -> Command {
    let mut command = Command::new("cargo");
    command.arg("test").args([
        "-p",
        "server",
        "-p",
        "app",
        "-p",
        "vercel-sim",
        "-p",
        "reference-vendor",
        "-p",
        "xtask",
    ]);
    linted(&mut command);
    command
}

/// Tests that load the server on purpose (a thousand concurrent installs, then kill -9): they
/// run after the others, alone, so their time budgets measure Tether and not the tests that
/// would otherwise run beside them on two cores.
const ALONE: &str = "durability::";

fn integration_tests() -> Result<Vec<String>> {
    let listed = cargo_test()
        .args(["-q", "--test", "it", "--", "--list", "--format", "terse"])
        .output()
        .context("listing the integration tests")?;
    let names = String::from_utf8_lossy(&listed.stdout);
    Ok(names.lines().filter_map(|l| l.strip_suffix(": test")).map(str::to_owned).collect())
}

fn test(root: &Path) -> Result<()> {
    // The tools, the site and the release binaries build at the lowest priority while the steps
    // below build and run the tests, which leave the cores idle for minutes waiting on I/O and
    // timers. Measured cold in issue 26: 28 min 43 s with the tests after the tools; 17 min 26 s
    // with them beside, the two test passes at once and less debug info in the test build.
    let prepared = Background::prepare(root)?;
    step("Formatting");
    sh(Command::new("cargo").args(["fmt", "--all", "--", "--check"]))?;
    step("The test build, linted by clippy with -D warnings (server, app, simulator, vendor, xtask; every target)");
    sh(cargo_test().args(["--all-targets", "--no-run"]))?;
    let postgres = postgres_url()?;
    step(match postgres {
        Some(_) => "Unit and integration tests on SQLite and, at once, the integration tests on PostgreSQL (a database per test)",
        None => "Unit and integration tests (server against the in-process simulator; app, simulator and vendor units)",
    });
    let on_postgres_too = match &postgres {
        Some(url) => Some(Background::start(
            &mut on_postgres(url, &["--skip", SQLITE_ONLY, "--skip", ALONE]),
            root.join("target/xtask-tests-postgres.log"),
            "the integration tests on PostgreSQL",
        )?),
        None => None,
    };
    sh(cargo_test().args(["--", "--skip", ALONE]))?;
    if let Some(tests) = on_postgres_too {
        eprintln!("{}", tests.wait()?);
        let about_sqlite = integration_tests()?.iter().filter(|name| name.contains(SQLITE_ONLY)).count();
        eprintln!(
            "    skipped on PostgreSQL: {about_sqlite} test(s) about SQLite's own files (named `{SQLITE_ONLY}…`)"
        );
    }
    keep_times_of(&prepared.wait()?);
    // The load tests run alone: their time budgets measure Tether, not a compiler beside it.
    step("The load test alone (a thousand concurrent installs, then kill -9), on SQLite");
    sh(cargo_test().args(["--test", "it", "--", ALONE]))?;
    if let Some(url) = &postgres {
        step("The load test alone, on PostgreSQL");
        sh(&mut on_postgres(url, &[ALONE]))?;
    }
    step("Playwright specs in Chromium");
    sh(Command::new("npx")
        .args(["playwright", "test"])
        .current_dir(root.join("end2end"))
        .env("PATH", tools::path_with_tools(root)))?;
    let tarball = dist::pack(root)?;
    dist::check(root, &tarball)?;
    step("All test layers passed");
    Ok(())
}
