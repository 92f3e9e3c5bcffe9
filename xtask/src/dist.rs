//! `cargo xtask dist`: the release build as one tarball an operator takes to another machine,
//! and the check `cargo xtask test` runs on it: unpacked in an empty folder elsewhere, started
//! with only the variables its INSTALL.md names, on SQLite and as two copies on PostgreSQL.

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

use crate::{sh, step, tools, Profile};

/// What goes into the tarball besides the binaries and the site: (from the repository, to).
const FILES: [(&str, &str); 3] = [
    ("dist/INSTALL.md", "INSTALL.md"),
    ("LICENSE", "LICENSE"),
    ("docs/provider-contract.yaml", "provider-contract.yaml"),
];

/// Builds the release site and packs it.
pub fn dist(root: &Path) -> Result<PathBuf> {
    crate::prepare(root, crate::Profile::Release, tools::ensure_build)?;
    pack(root)
}

/// Packs what the release build left in `target/`: `target/dist/tether-<version>-<target>.tar.gz`
/// holding `bin/server`, `bin/vercel-sim` (sandbox mode's Vercel), `site/` (wasm, JS and CSS,
/// each beside its brotli copy), a sample settings file, the licence, INSTALL.md and the
/// provider contract.
pub fn pack(root: &Path) -> Result<PathBuf> {
    step("Packing the tarball (cargo xtask dist)");
    let name = format!("tether-{}-{}", version(root)?, host_target()?);
    let dist = root.join("target/dist");
    let stage = dist.join(&name);
    if stage.exists() {
        std::fs::remove_dir_all(&stage).with_context(|| format!("emptying {}", stage.display()))?;
    }
    std::fs::create_dir_all(stage.join("bin"))?;
    for binary in ["server", "vercel-sim"] {
        // fs::copy keeps the mode: the binaries stay executable.
        std::fs::copy(root.join(Profile::Release.dir()).join(binary), stage.join("bin").join(binary))
            .with_context(|| format!("copying {}/{binary}: build it first", Profile::Release.dir()))?;
    }
    copy_tree(&root.join("target/site"), &stage.join("site"))?;
    for (from, to) in FILES {
        std::fs::copy(root.join(from), stage.join(to)).with_context(|| format!("copying {from}"))?;
    }
    std::fs::write(stage.join("tether.toml"), sample_settings(root)?)?;
    let tarball = dist.join(format!("{name}.tar.gz"));
    sh(Command::new("tar").arg("-czf").arg(&tarball).arg("-C").arg(&dist).arg(&name))?;
    let size = std::fs::metadata(&tarball)?.len();
    eprintln!("    {} ({:.1} MiB)", tarball.display(), size as f64 / (1024.0 * 1024.0));
    Ok(tarball)
}

/// The repository's `Leptos.toml` (one commented settings file to keep true, whose parsing a
/// server test checks) with the site where the tarball has it.
fn sample_settings(root: &Path) -> Result<String> {
    let text = std::fs::read_to_string(root.join("Leptos.toml"))?;
    let line = "site_root = \"target/site\"";
    if !text.contains(line) {
        bail!("Leptos.toml no longer says `{line}`: update dist::sample_settings");
    }
    Ok(text.replacen(line, "site_root = \"site\"       ", 1))
}

/// The server's version, from its manifest's `[package]`.
fn version(root: &Path) -> Result<String> {
    let manifest = std::fs::read_to_string(root.join("server/Cargo.toml"))?;
    manifest
        .lines()
        .find_map(|line| line.strip_prefix("version = \""))
        .map(|rest| rest.trim_end_matches('"').to_owned())
        .context("server/Cargo.toml has no version")
}

/// The target triple the binaries were built for (the host's: xtask builds natively).
fn host_target() -> Result<String> {
    let out = Command::new("rustc").arg("-vV").output().context("running rustc -vV")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_owned)
        .context("rustc -vV names no host")
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// A process of the unpacked tarball, stopped when dropped (a failed check leaves nothing running).
struct Running {
    child: Child,
    log: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The unpacked tarball and where its processes write their logs.
struct Unpacked {
    folder: PathBuf,
    install_md: String,
    logs: PathBuf,
}

impl Unpacked {
    /// Starts `bin/{program}` in the unpacked folder with these variables and no others: a
    /// variable INSTALL.md does not name is refused, so an operator reading it could do the same.
    fn start(&self, label: &str, program: &str, vars: &[(&str, &str)]) -> Result<Running> {
        for (name, _) in vars {
            if !self.install_md.contains(name) {
                bail!("the tarball's check sets {name}, which its INSTALL.md never names");
            }
        }
        let log = self.logs.join(format!("{label}.log"));
        let file = std::fs::File::create(&log)?;
        let child = Command::new(self.folder.join("bin").join(program))
            .current_dir(&self.folder)
            .env_clear()
            .envs(vars.iter().copied())
            .stdout(file.try_clone()?)
            .stderr(file)
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("starting bin/{program} from the tarball"))?;
        Ok(Running { child, log })
    }
}

impl Running {
    /// Waits until `GET {path}` at `addr` answers 200; the process's log if it stops first.
    fn answers(&mut self, addr: &str, path: &str) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if get_status(addr, path).is_some_and(|status| status == 200) {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("it stopped ({status}) before {path} answered 200:\n{}", self.log_text());
            }
            if Instant::now() > deadline {
                bail!("{addr}{path} did not answer 200 within 30 s:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for the process to stop by itself, as a refused start must.
    fn refuses(&mut self) -> Result<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                if status.success() {
                    bail!("it exited successfully where it had to refuse:\n{}", self.log_text());
                }
                return Ok(self.log_text());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("it still runs after 30 s where it had to refuse to start:\n{}", self.log_text())
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// The status code of a plain HTTP/1.1 GET, or None while nothing answers.
fn get_status(addr: &str, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Unpacks the tarball in an empty folder outside the repository, starts it as INSTALL.md says
/// and installs through the simulator in Chromium: on SQLite, then (with a PostgreSQL server)
/// as two copies sharing one database, the second started with TETHER_MIGRATE_AT_START=false.
pub fn check(root: &Path, tarball: &Path) -> Result<()> {
    step("The tarball, unpacked elsewhere: sandbox mode on SQLite, an install in Chromium");
    let place = std::env::temp_dir().join(format!("tether-dist-check-{}", std::process::id()));
    if place.exists() {
        std::fs::remove_dir_all(&place)?;
    }
    std::fs::create_dir_all(&place)?;
    sh(Command::new("tar").arg("-xzf").arg(tarball).arg("-C").arg(&place))?;
    let name = tarball
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".tar.gz"))
        .context("the tarball's name ends in .tar.gz")?;
    let folder = place.join(name);
    if !folder.join("bin/server").exists() {
        bail!("{} holds no {name}/bin/server", tarball.display());
    }
    let unpacked =
        Unpacked { install_md: std::fs::read_to_string(folder.join("INSTALL.md"))?, folder, logs: place.clone() };

    // Ports of their own: a `cargo xtask run` may be serving 3000 and 3100 meanwhile.
    let mut sim = unpacked.start(
        "sim",
        "vercel-sim",
        &[("SIM_ADDR", "127.0.0.1:3510"), ("SIM_REDIRECT_URL", "http://127.0.0.1:3500/callback")],
    )?;
    sim.answers("127.0.0.1:3510", "/sim/api/state")?;
    let mut tether = unpacked.start("sqlite", "server", &sandbox("127.0.0.1:3500", "http://127.0.0.1:3510"))?;
    tether.answers("127.0.0.1:3500", "/readyz")?;
    playwright(root, "http://127.0.0.1:3510")?;
    drop((tether, sim));

    match std::env::var("TETHER_TEST_POSTGRES_URL") {
        Ok(url) => two_copies_on_postgres(&unpacked, root, &url)?,
        Err(_) => step(
            "The tarball on PostgreSQL SKIPPED: two copies sharing a database were not started because \
             TETHER_TEST_POSTGRES_URL is unset",
        ),
    }
    std::fs::remove_dir_all(&place)?;
    Ok(())
}

/// The variables INSTALL.md's sandbox quick start gives Tether, on ports of the check's own.
fn sandbox<'a>(addr: &'a str, simulator: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("TETHER_MODE", "sandbox"),
        ("TETHER_CONFIG", "tether.toml"),
        ("TETHER_ADDR", addr),
        ("TETHER_SIMULATOR_URL", simulator),
    ]
}

fn two_copies_on_postgres(unpacked: &Unpacked, root: &Path, server_url: &str) -> Result<()> {
    step("The tarball on PostgreSQL: migrations once, a second copy with TETHER_MIGRATE_AT_START=false");
    let database = format!("tether_dist_{}", std::process::id());
    let psql = |sql: &str| {
        sh(Command::new("psql")
            .args(["-q", "-v", "ON_ERROR_STOP=1", server_url, "-c", sql])
            // Not the NOTICE that a database to drop was not there.
            .env("PGOPTIONS", "--client-min-messages=warning"))
        .context("psql (Debian's postgresql-client) runs the tarball check's SQL")
    };
    psql(&format!("DROP DATABASE IF EXISTS {database}"))?;
    psql(&format!("CREATE DATABASE {database}"))?;
    let result = (|| {
        let base = server_url.split('?').next().unwrap_or(server_url);
        let url = format!("{}/{database}", base.rsplit_once('/').map_or(base, |(server, _)| server));
        let copy = |label: &str, addr: &'static str, migrate: Option<&'static str>| {
            let mut vars = sandbox(addr, "http://127.0.0.1:3530");
            vars.push(("TETHER_DATABASE_URL", url.as_str()));
            vars.extend(migrate.map(|value| ("TETHER_MIGRATE_AT_START", value)));
            unpacked.start(label, "server", &vars)
        };
        // Before any copy migrated, one told not to must refuse to start, and say what to run.
        let said = copy("pg-early", "127.0.0.1:3521", Some("false"))?.refuses()?;
        if !said.contains("server migrate") {
            bail!("a copy on an unmigrated database refused without naming `server migrate`:\n{said}");
        }
        let mut first = copy("pg-first", "127.0.0.1:3520", None)?;
        first.answers("127.0.0.1:3520", "/readyz")?;
        let mut second = copy("pg-second", "127.0.0.1:3521", Some("false"))?;
        second.answers("127.0.0.1:3521", "/readyz")?;
        // The popup on the second copy; Vercel's webhooks to the first: one installation, both.
        let mut sim = unpacked.start(
            "pg-sim",
            "vercel-sim",
            &[
                ("SIM_ADDR", "127.0.0.1:3530"),
                ("SIM_REDIRECT_URL", "http://127.0.0.1:3521/callback"),
                ("SIM_WEBHOOK_URL", "http://127.0.0.1:3520/webhooks/vercel"),
            ],
        )?;
        sim.answers("127.0.0.1:3530", "/sim/api/state")?;
        playwright(root, "http://127.0.0.1:3530")
    })();
    psql(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))?;
    result
}

/// The tarball's spec (`end2end/dist/`), in Chromium, through the simulator at `sim`.
fn playwright(root: &Path, sim: &str) -> Result<()> {
    sh(Command::new("npx")
        .args(["playwright", "test", "--config", "dist.config.ts"])
        .current_dir(root.join("end2end"))
        .env("TETHER_DIST_SIM", sim)
        .env("PATH", tools::path_with_tools(root)))
}
