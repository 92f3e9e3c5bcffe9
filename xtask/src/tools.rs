//! Installs what the build and the tests need, skipping what is already there. Nothing is
//! downloaded from outside the package registries: cargo-leptos would fetch wasm-bindgen and
//! wasm-opt from elsewhere, so they are put on PATH first.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context, Result};

use crate::{sh, step};

/// The newest cargo-leptos that builds on our stable Rust (newer ones need rustc 1.96).
const CARGO_LEPTOS: &str = "0.3.8";
const CHROMIUM: &str = "/usr/bin/chromium";

/// What building the site needs: `run` and `dist` stop here (no browser to install).
pub fn ensure_build(root: &Path) -> Result<()> {
    if !clippy_driver().exists() {
        bail!("clippy is missing from the toolchain: run `rustup component add clippy` and try again");
    }
    ensure_wasm_target()?;
    ensure_cargo_leptos()?;
    ensure_wasm_bindgen(root)?;
    ensure_npm_packages(root)
}

/// What `test` needs: the build's tools and Chromium.
pub fn ensure_all(root: &Path) -> Result<()> {
    ensure_build(root)?;
    ensure_chromium()
}

/// The toolchain's clippy-driver (rustup installs it with clippy, beside rustc).
pub fn clippy_driver() -> PathBuf {
    let sysroot = Command::new("rustc").args(["--print", "sysroot"]).output().map(|out| out.stdout).unwrap_or_default();
    PathBuf::from(String::from_utf8_lossy(&sysroot).trim()).join("bin/clippy-driver")
}

/// PATH with the npm-installed wasm-opt (Debian's is too old: the page would never hydrate)
/// and cargo's bin directory in front.
pub fn path_with_tools(root: &Path) -> String {
    let mut parts = vec![root.join("end2end/node_modules/.bin")];
    if let Some(home) = std::env::var_os("HOME") {
        parts.push(PathBuf::from(home).join(".cargo/bin"));
    }
    let existing = std::env::var_os("PATH").unwrap_or_default();
    parts.extend(std::env::split_paths(&existing));
    std::env::join_paths(parts).map(|p| p.to_string_lossy().into_owned()).unwrap_or_default()
}

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ensure_wasm_target() -> Result<()> {
    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        step("Adding the wasm32-unknown-unknown target");
        sh(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    Ok(())
}

fn ensure_cargo_leptos() -> Result<()> {
    let version = output("cargo", &["leptos", "--version"]).unwrap_or_default();
    if !version.contains(CARGO_LEPTOS) {
        step(&format!("Installing cargo-leptos {CARGO_LEPTOS} (about 6 minutes on 2 cores, once per machine)"));
        // A debug build: it only orchestrates (cargo, wasm-bindgen, wasm-opt do the work), so an
        // optimised one saves nothing a build can see (a release site build took 73.4 s with
        // either) and costs 13 min 18 s to compile against 5 min 59 s (measured, issue 26).
        sh(install_debug().args(["cargo-leptos", "--locked", "--version", CARGO_LEPTOS]))?;
    }
    Ok(())
}

/// `cargo install --debug`, without debug info or incremental caches: nobody steps through these
/// tools and a one-off build reuses nothing; that took cargo-leptos from 7 min 30 s to 6 min 29 s
/// on a cold machine (measured, issue 26).
fn install_debug() -> Command {
    let mut command = Command::new("cargo");
    command.args(["install", "--debug"]).env("CARGO_PROFILE_DEV_DEBUG", "0").env("CARGO_INCREMENTAL", "0");
    command
}

/// The CLI must match the wasm-bindgen crate in Cargo.lock exactly.
fn locked_version(root: &Path, package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{package}\"") {
            if let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = \"")) {
                return Ok(version.trim_end_matches('"').to_owned());
            }
        }
    }
    bail!("{package} is not in Cargo.lock")
}

fn ensure_wasm_bindgen(root: &Path) -> Result<()> {
    let wanted = locked_version(root, "wasm-bindgen")?;
    let have = output("wasm-bindgen", &["--version"]).unwrap_or_default();
    if !have.split_whitespace().any(|w| w == wanted) {
        step(&format!("Installing wasm-bindgen-cli {wanted} (about a minute)"));
        // Not --locked: its lock file names a crate version the registry no longer has. A debug
        // build: 62 s to compile instead of 107 s (stop 32's fresh machine), for 0.8 s more per
        // site build (5.9 s to generate the JS and wasm instead of 5.1 s; measured, issue 26).
        sh(install_debug().args(["wasm-bindgen-cli", "--version", &wanted]))?;
    }
    Ok(())
}

fn ensure_npm_packages(root: &Path) -> Result<()> {
    let dir = root.join("end2end");
    let ready = dir.join("node_modules/.bin/wasm-opt").exists() && dir.join("node_modules/.bin/playwright").exists();
    let lock = dir.join("package-lock.json");
    let stale = match (std::fs::metadata(&lock), std::fs::metadata(dir.join("node_modules/.package-lock.json"))) {
        (Ok(a), Ok(b)) => a.modified().ok() > b.modified().ok(),
        _ => true,
    };
    if !ready || stale {
        step("Installing npm packages (Playwright, binaryen's wasm-opt)");
        sh(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir))?;
    }
    Ok(())
}

fn ensure_chromium() -> Result<()> {
    if Path::new(CHROMIUM).exists() {
        return Ok(());
    }
    step("Installing Debian's Chromium for the browser tests");
    apt_install("chromium")
}

/// wrk, for `cargo xtask bench`'s load test.
pub fn ensure_wrk() -> Result<()> {
    // `wrk --version` exits with 1: that it starts at all is the check.
    if Command::new("wrk").arg("--version").output().is_ok() {
        return Ok(());
    }
    step("Installing Debian's wrk for the load test");
    apt_install("wrk")
}

fn apt_install(package: &str) -> Result<()> {
    let is_root = output("id", &["-u"]).is_some_and(|id| id.trim() == "0");
    if !is_root {
        bail!("{package} is missing: run `sudo apt-get install -y {package}` and try again");
    }
    sh(Command::new("apt-get").args(["update"]))?;
    sh(Command::new("apt-get").args(["install", "-y", package]).env("DEBIAN_FRONTEND", "noninteractive"))
}
