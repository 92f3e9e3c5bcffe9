//! What a vendor sees while registering the integration: `server check-config`, and the page
//! and log line when the Redirect URL registered at Vercel is not Tether's.

use std::time::Duration;

use reqwest::{redirect::Policy, StatusCode};
use tokio::net::TcpListener;
use vercel_sim::SimConfig;

use crate::support::{production, serve_logged};

fn check_config(public_url: &str, secret: &str) -> std::process::Output {
    production(secret).args(["check-config"]).env("TETHER_PUBLIC_URL", public_url).output().unwrap()
}

#[test]
fn check_config_prints_every_console_value_for_the_public_url() {
    let secret = format!("canary-{}", rand::random::<u64>());
    let out = check_config("https://tether.example.com", &secret);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "Redirect URL        https://tether.example.com/callback",
        "Configuration URL   https://tether.example.com/configure",
        "Webhook URL         https://tether.example.com/webhooks/vercel",
        "project-env-vars",
        "integration-configuration",
        "TETHER_VERCEL_CLIENT_SECRET",
        "ACME_API_KEY",
        // The listing's Instructions name every variable and what it is for.
        "Acme DB: the API key of the database connected to this project.",
        // A native integration's console values: its Base URL and its products with their plans.
        "Base URL            https://tether.example.com",
        "Redirect Login URL  https://tether.example.com/sso",
        "Product             tether (Acme DB; plans: free)",
        "(tokens are taken from https://marketplace.vercel.com)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains(&secret), "the secret is never printed");
    // What the operator gave, and where it came from: a secret only as given.
    let line = |name: &str| text.lines().find(|l| l.trim_start().starts_with(name)).unwrap_or_default().to_owned();
    let public_url = line("TETHER_PUBLIC_URL");
    assert!(public_url.contains("https://tether.example.com") && public_url.contains("flag or environment"), "{text}");
    assert!(line("TETHER_VERCEL_CLIENT_SECRET ").contains("(secret)"), "{text}");
    assert!(line("TETHER_ADDR").is_empty(), "a default is not listed as given:\n{text}");
}

#[test]
fn check_config_refuses_a_plain_http_public_url_outside_sandbox() {
    let out = check_config("http://tether.example.com", "s");
    assert_eq!(out.status.code(), Some(2));
    let errors = String::from_utf8(out.stderr).unwrap();
    assert!(errors.contains("TETHER_PUBLIC_URL must be https"), "{errors}");
    let loopback = check_config("http://127.0.0.1:3000", "s");
    assert!(loopback.status.success(), "a loopback address is fine for local tests");
}

/// Each unsafe or silently ignored setting stops the real binary with exactly one message.
#[test]
fn check_config_refuses_each_unsafe_or_ignored_setting_with_one_message() {
    let previous = "TETHER_VERCEL_CLIENT_SECRET_PREVIOUS";
    let zero = format!("k1:{}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [0u8; 32]));
    let provider_secrets = server::signing::SigningKey::generate_spec("k1");
    let cases: [(&str, &str, &str); 8] = [
        (previous, "", "TETHER_VERCEL_CLIENT_SECRET_PREVIOUS is set but empty"),
        (
            previous,
            vercel_sim::DEFAULT_CLIENT_SECRET,
            "TETHER_VERCEL_CLIENT_SECRET_PREVIOUS is the simulator's published secret",
        ),
        (
            "TETHER_VERCEL_API_URL",
            "http://api.vercel.example",
            "TETHER_VERCEL_API_URL must be https outside sandbox mode",
        ),
        (
            "TETHER_VERCEL_DASHBOARD_URL",
            "http://vercel.example",
            "TETHER_VERCEL_DASHBOARD_URL must be https outside sandbox mode",
        ),
        ("TETHER_PUBLIC_URL", "https://admin:pw@tether.example.com", "no user, password, query or fragment"),
        ("TETHER_PUBLIC_URL", "https://tether.example.com/?next=x", "no user, password, query or fragment"),
        (
            "TETHER_PROVIDER_SECRETS",
            &provider_secrets,
            "TETHER_PROVIDER_SECRETS is set but the provider is the built-in one",
        ),
        ("TETHER_SEAL_KEYS", &zero, "one byte repeated"),
    ];
    for (name, value, said) in cases {
        let out = production("s")
            .args(["check-config"])
            .env("TETHER_PUBLIC_URL", "https://tether.example.com")
            .env(name, value)
            .output()
            .unwrap();
        let errors = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}={value:?} was accepted");
        assert!(errors.contains(said), "{name}: {errors}");
        assert_eq!(errors.matches("\n  - ").count(), 1, "one message for {name}: {errors}");
        let secret = !name.ends_with("_URL");
        assert!(!secret || value.is_empty() || !errors.contains(value), "{name}: a secret is never printed");
    }
    // In sandbox mode the simulator's secret verifies webhooks: an old one would be ignored.
    let dir = std::env::temp_dir().join(format!("tether-sandbox-{}", rand::random::<u64>()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["check-config"])
        .env("TETHER_CONFIG", "/dev/null")
        .env("TETHER_MODE", "sandbox")
        .env("TETHER_DATA_DIR", &dir)
        .env(previous, "an-old-secret")
        .output()
        .unwrap();
    let errors = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(errors.contains("TETHER_VERCEL_CLIENT_SECRET_PREVIOUS is set but TETHER_MODE is sandbox"), "{errors}");
    // check-config says what it does with the previous secret.
    let out = production("s").args(["check-config"]).env(previous, "an-old-secret").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success() && text.contains("TETHER_VERCEL_CLIENT_SECRET_PREVIOUS") && text.contains("now: set"));
    assert!(!text.contains("an-old-secret"), "the secret is never printed");
}

#[tokio::test]
async fn a_redirect_uri_mismatch_has_its_own_page_and_log_line() {
    let secret = format!("canary-{}", rand::random::<u64>());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // Vercel knows the integration as 127.0.0.1; the operator set the public URL to localhost.
    let registered = format!("http://127.0.0.1:{port}/callback");
    let sent = format!("http://localhost:{port}/callback");
    let sim_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim_url = format!("http://{}", sim_listener.local_addr().unwrap());
    let mut config = SimConfig::new(&sim_url, &registered);
    config.client_secret = secret.clone();
    let sim = vercel_sim::serve(sim_listener, config).await.unwrap();
    let public_url = format!("http://localhost:{port}");
    let (mut child, dir) =
        serve_logged(production(&secret).env("TETHER_PUBLIC_URL", &public_url), port, &sim_url).await;
    let browser = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    let callback = sim.sim.begin_install(vercel_sim::TEAM_ID, "marketplace").unwrap();
    let response = browser.get(&callback).send().await.unwrap();
    let status = response.status();
    let page = response.text().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(page.contains("Redirect URL") && page.contains(&sent), "the page names the exact value: {page}");
    assert!(page.contains("Return to Vercel"));
    let output = std::fs::read_to_string(dir.join("output.log")).unwrap();
    let line = output.lines().find(|l| l.contains("redirect_uri")).unwrap_or_default();
    assert!(line.contains(&sent), "the log line says what Tether sent: {output}");
    assert!(!output.contains(&secret));
}

/// Runs the server binary with exactly these variables and expects it to refuse to start.
fn refused_start(vars: &[(&str, &str)]) -> String {
    let dir = std::env::temp_dir().join(format!("tether-refused-{}", rand::random::<u64>()));
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .env_clear()
        .env("TETHER_CONFIG", "/dev/null")
        .env("TETHER_DATA_DIR", &dir)
        .env("TETHER_ADDR", "127.0.0.1:0");
    let mut child = command.envs(vars.iter().copied()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(2), "{vars:?}");
            let mut errors = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut errors).unwrap();
            assert!(!dir.join("tether.db").exists(), "nothing was created before refusing");
            return errors;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    panic!("the server started with {vars:?}");
}

#[test]
fn the_server_never_guesses_its_mode_and_fails_closed() {
    let errors = refused_start(&[]);
    assert!(errors.contains("TETHER_MODE is not set"), "{errors}");
    // A deployment that lost its secret must not fall back to trusting the simulator's.
    let errors = refused_start(&[("TETHER_VERCEL_CLIENT_ID", "oac_1"), ("TETHER_VERCEL_CLIENT_SECRET", "")]);
    assert!(errors.contains("TETHER_MODE is not set"), "{errors}");
    let errors = refused_start(&[("TETHER_MODE", "production"), ("TETHER_VERCEL_CLIENT_SECRET", "")]);
    for expected in [
        "TETHER_VERCEL_CLIENT_ID is required",
        "TETHER_VERCEL_CLIENT_SECRET is set but empty",
        "TETHER_SEAL_KEYS is required",
    ] {
        assert!(errors.contains(expected), "missing {expected:?}: {errors}");
    }
    let errors = refused_start(&[
        ("TETHER_MODE", "production"),
        ("TETHER_VERCEL_CLIENT_ID", "oac_1"),
        ("TETHER_VERCEL_CLIENT_SECRET", vercel_sim::DEFAULT_CLIENT_SECRET),
        ("TETHER_SEAL_KEYS", &server::seal::Sealer::generate_spec("k1")),
    ]);
    assert!(errors.contains("published secret"), "{errors}");
}
