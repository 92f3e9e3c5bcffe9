//! What the vendor operating Tether sees: `server --help`, the log lines, the metrics and the
//! operator's endpoints, all from the real binary.

use std::path::Path;

use reqwest::header;

use crate::support::{kill, production, Deployment};

fn rust_sources(dir: &Path, into: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_sources(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// Every `TETHER_*` name the server's source spells out.
fn variables_in_the_source() -> Vec<String> {
    let mut source = String::new();
    rust_sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut source);
    let mut names: Vec<String> = source
        .match_indices("\"TETHER_")
        .map(|(at, _)| {
            let rest = &source[at + 1..];
            let end = rest.find(|c: char| !(c.is_ascii_uppercase() || c == '_')).unwrap_or(rest.len());
            rest[..end].to_owned()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn help_lists_every_subcommand_and_every_setting_with_its_variable_and_default() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_server")).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for subcommand in ["check-config", "migrate", "rewrap", "provider-check"] {
        assert!(help.contains(&format!("\n  {subcommand} ")), "{subcommand} is listed:\n{help}");
    }
    let names = variables_in_the_source();
    assert!(names.len() >= 20, "the scan found the settings: {names:?}");
    for name in &names {
        assert!(help.contains(name.as_str()), "{name} is read by the server but `server --help` does not list it");
    }
    // Shown with its default, its file key and its variable.
    assert!(help.contains("--addr <VALUE>"));
    assert!(help.contains("[default: 127.0.0.1:3000] [file: [server] addr]"));
    assert!(help.contains("[env: TETHER_ADDR]"));
    // A secret has no flag: the command line is visible to every process on the machine.
    assert!(!help.contains("--vercel-client-secret") && !help.contains("--seal-keys"));
}

#[test]
fn help_never_prints_a_value_from_the_environment() {
    let canary = format!("canary-{}", rand::random::<u64>());
    let output = production(&canary)
        .env("TETHER_CLIENT_IP_HEADER", &canary)
        .env("TETHER_DATABASE_URL", format!("postgres://u:{canary}@db/x"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("TETHER_CLIENT_IP_HEADER"));
    assert!(!help.contains(&canary), "no value from the environment is shown");
}

#[test]
fn a_flag_beats_the_environment() {
    let secret = format!("canary-{}", rand::random::<u64>());
    let output = production(&secret)
        .env("TETHER_PUBLIC_URL", "https://from-env.example")
        .args(["--public-url", "https://from-flag.example", "check-config"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report = String::from_utf8(output.stdout).unwrap();
    assert!(report.contains("https://from-flag.example/callback"), "{report}");
    assert!(!report.contains("from-env"), "{report}");
}

/// One JSON object per line, chosen in the settings file; a line per request with its method,
/// route, status and latency; the installation on every line of an install's requests; never a
/// query string.
#[tokio::test]
async fn the_settings_files_log_format_gives_one_json_object_per_line_with_the_installation() {
    let deployment = Deployment::new().await;
    let settings = deployment.dir.join("settings.toml");
    std::fs::write(&settings, "[server]\nlog_format = \"json\"\n").unwrap();
    let mut command = production(&deployment.secret);
    command.env("TETHER_CONFIG", &settings);
    let child =
        crate::support::serve_logged_in(&mut command, deployment.port, &deployment.sim.url(), &deployment.dir).await;

    let browser = Deployment::browser();
    let callback = deployment.sim.sim.begin_install(vercel_sim::TEAM_ID, "marketplace").unwrap();
    let code = callback.split("code=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let redirect = browser.get(&callback).send().await.unwrap();
    let configuration_id =
        redirect.headers()[header::LOCATION].to_str().unwrap().trim_start_matches("/install/").to_owned();
    let page = browser.get(format!("{}/install/{configuration_id}", deployment.tether)).send().await.unwrap();
    assert!(page.status().is_success());
    let form = [
        ("configuration_id".to_owned(), configuration_id.clone()),
        ("choices[prj_acme001]".to_owned(), "new".to_owned()),
        ("finish".to_owned(), "1".to_owned()),
    ];
    let linked = deployment.post(&browser, "link_projects", &form).await;
    assert!(linked.status().is_redirection(), "{}", linked.status());
    kill(child);

    let output = std::fs::read_to_string(deployment.dir.join("output.log")).unwrap();
    let lines: Vec<serde_json::Value> = output
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}")))
        .collect();
    let answered: Vec<&serde_json::Value> = lines.iter().filter(|l| l["fields"]["message"] == "answered").collect();
    let of_route =
        |route: &str| answered.iter().copied().filter(move |l| l["span"]["route"] == route).collect::<Vec<_>>();
    let callbacks = of_route("/callback");
    assert_eq!(callbacks.len(), 1, "one line for the callback: {output}");
    assert_eq!(callbacks[0]["fields"]["status"], 303);
    assert_eq!(callbacks[0]["span"]["method"], "GET");
    assert!(callbacks[0]["fields"]["latency_ms"].as_f64().is_some());
    for route in ["/callback", "/install/{configuration_id}", "/api/{*fn_name}"] {
        let lines = of_route(route);
        assert!(!lines.is_empty(), "{route} was answered: {output}");
        for line in lines {
            assert_eq!(line["span"]["installation"], configuration_id.as_str(), "{route}: {line}");
        }
    }
    // Every line logged inside those requests names the installation, not only the last one.
    let inside: Vec<_> = lines
        .iter()
        .filter(|l| l["span"]["name"] == "request" && l["span"]["route"] != "/healthz")
        .filter(|l| l["fields"]["message"] != "answered")
        .collect();
    assert!(!inside.is_empty(), "the handlers logged something: {output}");
    for line in inside {
        assert_eq!(line["span"]["installation"], configuration_id.as_str(), "{line}");
    }
    assert!(!output.contains(&code), "the code in the callback's query is never logged");
    assert!(!output.contains("code=") && !output.contains("next="), "no query string is logged: {output}");
}
