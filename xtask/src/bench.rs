//! `cargo xtask bench`: every figure Tether is measured by, on this machine, in one table.
//!
//! The popup's figures come from the release build as a user gets it: Tether and the simulator
//! as processes, Chromium for bytes, load times and linking, wrk for requests per second, and
//! /proc for memory. The server's own benchmarks (webhook ingestion, scale-out) run in-process
//! and leave their rows in `target/bench/*.json`. The table goes to `target/bench/report.md`.

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::{prepare, sh, step, tools, Profile};

/// Not `bench`: its output would overwrite the release build's server (see Cargo.toml).
const BENCH_PROFILE: &str = "bench-release";
const TETHER: &str = "127.0.0.1:3500";
const SIM: &str = "127.0.0.1:3510";
/// Vercel's env write as the linking figure assumes it: slow enough that concurrency shows.
const ENV_WRITE_LATENCY_MS: u64 = 100;
const WRK_SECONDS: &str = "20s";

/// A figure of the table: what was measured, this run's value, the goal, and the example's.
struct Row {
    figure: String,
    value: String,
    goal: &'static str,
    example: &'static str,
}

fn row(figure: impl Into<String>, value: impl Into<String>, goal: &'static str, example: &'static str) -> Row {
    Row { figure: figure.into(), value: value.into(), goal, example }
}

/// Kills the processes it started when the bench ends, however it ends.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn bench(root: &Path) -> Result<()> {
    tools::ensure_wrk()?;
    prepare(root, Profile::Release, tools::ensure_all)?;
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out)?;
    for stale in ["webhooks.json", "scale.json", "native.json"] {
        let _ = std::fs::remove_file(out.join(stale));
    }

    let mut rows = popup_figures(root)?;

    step("Webhook ingestion benchmark");
    sh(Command::new("cargo").args(["bench", "--profile", BENCH_PROFILE, "-p", "server", "--bench", "webhooks"]))?;
    step("Scale-out benchmark: SQLite, PostgreSQL, two instances on PostgreSQL (with TETHER_TEST_POSTGRES_URL)");
    sh(Command::new("cargo").args(["bench", "--profile", BENCH_PROFILE, "-p", "server", "--bench", "scale"]))?;
    step("Native Partner API benchmark: provision, read, token verification");
    sh(Command::new("cargo").args(["bench", "--profile", BENCH_PROFILE, "-p", "server", "--bench", "native"]))?;
    for name in ["webhooks", "scale", "native"] {
        let text = std::fs::read_to_string(out.join(format!("{name}.json")))
            .with_context(|| format!("the {name} benchmark left no figures"))?;
        let figures: Vec<Value> = serde_json::from_str(&text)?;
        rows.extend(
            figures
                .iter()
                .map(|f| row(format!("{} ({})", text_of(f, "figure"), text_of(f, "how")), text_of(f, "value"), "", "")),
        );
    }

    let report = render(&rows, &machine());
    std::fs::write(out.join("report.md"), &report)?;
    step("Report (also in target/bench/report.md)");
    println!("{report}");
    Ok(())
}

fn text_of(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

/// The popup in Chromium, then the load test and memory, against one Tether process.
fn popup_figures(root: &Path) -> Result<Vec<Row>> {
    step("Starting the simulator (env writes take 100 ms) and Tether, release build");
    let data = std::env::temp_dir().join(format!("tether-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data)?;
    let sim = Command::new(root.join("target/release/vercel-sim"))
        .env("SIM_ADDR", SIM)
        .env("SIM_REDIRECT_URL", format!("http://{TETHER}/callback"))
        .env("SIM_WEBHOOK_URL", format!("http://{TETHER}/webhooks/vercel"))
        .env("SIM_ENV_WRITE_LATENCY_MS", ENV_WRITE_LATENCY_MS.to_string())
        .stdout(Stdio::null())
        .spawn()
        .context("cannot start the simulator")?;
    let mut processes = Processes(vec![sim]);
    let site = floor_site(root)?;
    let tether = Command::new(root.join("target/release/server"))
        .env("TETHER_SITE_ROOT", &site)
        .env("TETHER_MODE", "sandbox")
        .env("TETHER_ADDR", TETHER)
        .env("TETHER_PUBLIC_URL", format!("http://{TETHER}"))
        .env("TETHER_SIMULATOR_URL", format!("http://{SIM}"))
        .env("TETHER_DATA_DIR", &data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .context("cannot start Tether")?;
    let tether_pid = tether.id();
    processes.0.push(tether);
    wait_ready(SIM, "/sim/api/state")?;
    wait_ready(TETHER, "/readyz")?;
    let idle = rss_mib(tether_pid)?;

    step("The popup in Chromium: bytes, load times, linking");
    let output = Command::new("node")
        .arg("bench/popup.mjs")
        .current_dir(root.join("end2end"))
        .env("BENCH_TETHER", format!("http://{TETHER}"))
        .env("BENCH_SIM", format!("http://{SIM}"))
        .env("BENCH_ENV_WRITE_LATENCY_MS", ENV_WRITE_LATENCY_MS.to_string())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run node")?;
    if !output.status.success() {
        bail!("the browser benchmark failed: {}", output.status);
    }
    let popup: Value = serde_json::from_slice(&output.stdout).context("the browser benchmark's output")?;

    step(&format!("Load test: wrk, 50 connections, {WRK_SECONDS}, the 250-project install page"));
    let load = &popup["load"];
    let wrk = Command::new("wrk")
        .args(["-t2", "-c50", "-d", WRK_SECONDS, "--latency"])
        .args(["-H", "Accept-Encoding: gzip, deflate, br"])
        .args(["-H", &format!("Cookie: {}", load["cookie"].as_str().unwrap_or_default())])
        .arg(load["url"].as_str().unwrap_or_default())
        .output()
        .context("cannot run wrk")?;
    if !wrk.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&wrk.stderr));
    }
    let wrk = String::from_utf8_lossy(&wrk.stdout).into_owned();
    eprintln!("{wrk}");
    if wrk.contains("Non-2xx") {
        bail!("the load test got answers other than 200: the figure would not be the page's");
    }
    let after = rss_mib(tether_pid)?;
    Ok(popup_rows(&popup, &wrk, idle, after))
}

/// The release site with one more file, `pkg/floor.html`: a page of HTML and nothing else, served
/// by Tether's own static route, whose first paint is the floor every page's is measured against
/// (the same server, connection and browser; only the page differs). A copy, so that nothing the
/// bench adds is ever packed by `dist`.
fn floor_site(root: &Path) -> Result<std::path::PathBuf> {
    let site = root.join("target/bench/site");
    let _ = std::fs::remove_dir_all(&site);
    std::fs::create_dir_all(root.join("target/bench"))?;
    sh(Command::new("cp").arg("-r").arg(root.join("target/site")).arg(&site))?;
    std::fs::write(
        site.join("pkg/floor.html"),
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Floor</title></head>\
         <body><p>The blank page: HTML only.</p></body></html>\n",
    )?;
    Ok(site)
}

fn popup_rows(popup: &Value, wrk: &str, idle: f64, after: f64) -> Vec<Row> {
    let n = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let weight = |size: &str| {
        let w = &popup["weight"][size];
        // The stylesheet comes inside the HTML; a CSS request would be a page linking to it.
        let css = match w["css"].as_f64() {
            Some(bytes) => format!("CSS {}", thousands(bytes)),
            None => "CSS inside it".to_owned(),
        };
        format!(
            "{} B (HTML {}, {css}, JS {}, wasm {})",
            thousands(n(&w["total"])),
            thousands(n(&w["html"])),
            thousands(n(&w["js"])),
            thousands(n(&w["wasm"]))
        )
    };
    let times = &popup["times"];
    let (small, big) = (n(&times["small"]["hydrated_ms"]), n(&times["big"]["hydrated_ms"]));
    let linking = &popup["linking"];
    let bound = n(&linking["bound_ms"]);
    let requests = wrk_field(wrk, "Requests/sec:").unwrap_or_default();
    vec![
        row(
            "Install page weight, 250 projects (all bytes on the wire, headers included, brotli)",
            weight("big"),
            "≤ 50,000 B",
            "100,835 B (its shell, gzip)",
        ),
        row("Install page weight, 3 projects", weight("small"), "", ""),
        row(
            "Time to usable on a first visit (first contentful paint), median: blank page / 3 / 250 projects \
             (each to the blank page loaded just before it, median)",
            format!(
                "{:.0} / {:.0} / {:.0} ms ({:.2}× / {:.2}×)",
                n(&times["blank"]["usable_ms"]),
                n(&times["small"]["usable_ms"]),
                n(&times["big"]["usable_ms"]),
                n(&times["small"]["usable_to_blank"]),
                n(&times["big"]["usable_to_blank"])
            ),
            "≤ 1.3 × the blank page",
            EXAMPLE_FIRST_VISIT,
        ),
        row(
            "Time to hydrated on a first visit, median: 3 / 250 projects (ratio of the medians; median of the \
             ratios within each round)",
            format!(
                "{small:.0} / {big:.0} ms ({:.2}×; {:.2}× by round)",
                big / small,
                n(&times["hydrated_ratio_paired"])
            ),
            "250 ≤ ½ of the example's; 250 ≤ 1.2 × 3",
            EXAMPLE_FIRST_VISIT,
        ),
        row(
            "Warm reload (the same browser context: compiled wasm and code cache kept), median: usable / hydrated, \
             3 projects; 250 projects",
            format!(
                "{:.0} / {:.0} ms; {:.0} / {:.0} ms",
                n(&times["small"]["warm_usable_ms"]),
                n(&times["small"]["warm_hydrated_ms"]),
                n(&times["big"]["warm_usable_ms"]),
                n(&times["big"]["warm_hydrated_ms"])
            ),
            "",
            "",
        ),
        row(
            format!(
                "Linking {} projects, env write {} ms: hydrated popup / plain form / bound N·L/C (C = {})",
                n(&linking["projects"]),
                n(&linking["latency_ms"]),
                n(&linking["in_flight"])
            ),
            format!(
                "{:.2} s / {:.2} s / {:.2} s ({:.2}× bound)",
                n(&linking["hydrated_ms"]) / 1000.0,
                n(&linking["plain_form_ms"]) / 1000.0,
                bound / 1000.0,
                n(&linking["hydrated_ms"]) / bound
            ),
            "≤ 1.2 × bound",
            "does not link",
        ),
        row(
            "Install page, 250 projects, requests/s (wrk -c50, brotli accepted)",
            format!(
                "{requests} (p50 {}, p99 {})",
                wrk_field(wrk, "50%").unwrap_or_default(),
                wrk_field(wrk, "99%").unwrap_or_default()
            ),
            "≥ 2,650 (5 × 530)",
            "2,706 (its static shell)",
        ),
        row(
            "Server RSS: idle / after the load test",
            format!("{idle:.1} / {after:.1} MiB"),
            "≤ 32 MiB after load",
            "78 / 169–192 MiB",
        ),
    ]
}

/// Vercel's example on a first visit: its page draws its content only once React has hydrated,
/// so usable and hydrated are the same moment.
const EXAMPLE_FIRST_VISIT: &str = "218 ms (first visit, usable = hydrated)";

/// The first whitespace-separated word after `label` in wrk's output.
fn wrk_field(output: &str, label: &str) -> Option<String> {
    output.lines().find_map(|line| {
        let rest = line.trim().strip_prefix(label)?;
        rest.split_whitespace().next().map(str::to_owned)
    })
}

fn thousands(value: f64) -> String {
    if !value.is_finite() {
        return "?".into();
    }
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn render(rows: &[Row], machine: &str) -> String {
    let mut out = format!(
        "Measured by `cargo xtask bench` on {machine}.\nVercel's example integration (Next.js 14.0.1, `next start`) \
         is not on this machine: its figures were measured beside Tether, in one run and by the same method, on a \
         2-core machine of this kind (first visits on 2026-12-05, the rest on 2026-11-27/28).\n\n\
         | figure | Tether, this run | goal | Vercel's example (measured elsewhere) |\n|---|---|---|---|\n"
    );
    for r in rows {
        out.push_str(&format!("| {} | {} | {} | {} |\n", r.figure, r.value, r.goal, r.example));
    }
    out
}

/// The machine the figures come from: CPU model, cores, memory.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_owned()))
        .unwrap_or_else(|| "an unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next()?.parse::<f64>().ok())
        .map(|kib| format!("{:.0} GiB", kib / 1024.0 / 1024.0))
        .unwrap_or_default();
    let date = Command::new("date")
        .arg("+%Y-%m-%d")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{model}, {cores} cores, {memory}, {date}")
}

fn rss_mib(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .context("no VmRSS")?;
    Ok(kib / 1024.0)
}

/// Polls `path` until it answers 200, for up to 30 s.
fn wait_ready(addr: &str, path: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if get_status(addr, path).is_ok_and(|status| status == 200) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("http://{addr}{path} did not answer 200 within 30 s")
}

fn get_status(addr: &str, path: &str) -> Result<u16> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    let text = String::from_utf8_lossy(&head);
    text.get(9..12).and_then(|s| s.parse().ok()).context("not an HTTP answer")
}
