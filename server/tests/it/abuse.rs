//! No input panics the server: random values in every route's parameters, forms and bodies get
//! a page or a refusal, never a 5xx other than 503 and never a dropped connection.

use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use reqwest::{header, StatusCode};

use crate::support::{world, world_with, World};

/// Tether behind a load balancer that names the client in X-Forwarded-For, so a test can play
/// many clients from one machine.
const BEHIND_A_BALANCER: &str = "[server]\nclient_ip_header = \"x-forwarded-for\"\n";

/// Pieces that have broken parsers, headers and redirects before.
const PIECES: [&str; 24] = [
    "\n",
    "\r\n",
    "\0",
    "%",
    "%0a",
    "%00",
    "icfg_",
    "prj_",
    "team_",
    "é",
    "\u{202e}",
    "../",
    "/",
    "\\",
    "<script>",
    "\"",
    "'",
    "&",
    "=",
    "?",
    "#",
    " ",
    "existing:res_",
    "https://evil.example/",
];

fn junk(rng: &mut StdRng, known: &str) -> String {
    let mut out = String::new();
    for _ in 0..rng.gen_range(0..6) {
        match rng.gen_range(0..10) {
            0 => out.push_str(known),
            1 => out.push_str(&"a".repeat(rng.gen_range(100..5000))),
            2 => out.push(char::from_u32(rng.gen_range(0..0x3000)).unwrap_or('x')),
            _ => out.push_str(PIECES.choose(rng).unwrap()),
        }
    }
    out
}

async fn assert_survives(world: &World, what: &str, request: reqwest::RequestBuilder) {
    let response = request.send().await.unwrap_or_else(|e| panic!("{what}: the connection failed: {e}"));
    let status = response.status();
    assert!(!status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE, "{what}: answered {status}");
    // Still serving afterwards.
    assert_eq!(world.get("/healthz").await.status(), StatusCode::OK, "{what}");
}

#[tokio::test]
async fn random_parameters_on_every_route_never_make_a_5xx() {
    // Each round is another client, so the rate limits do not hide the parsers from the junk.
    let world = world_with(Some(BEHIND_A_BALANCER)).await;
    let popup = world.open_popup(vercel_sim::PERSONAL_USER_ID).await;
    let id = popup.configuration_id.clone();
    let mut rng = StdRng::seed_from_u64(7);
    let base = &world.tether;
    for round in 0..120 {
        let mut r = || junk(&mut rng, &id);
        let (a, b, c, d, e) = (r(), r(), r(), r(), r());
        let query =
            |pairs: &[(&str, &str)]| url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        let gets = [
            format!(
                "{base}/callback?{}",
                query(&[("code", &a), ("configurationId", &b), ("next", &c), ("teamId", &d)])
            ),
            format!("{base}/callback?{}", query(&[("currentProjectId", &a), ("external-id", &b), ("state", &c)])),
            format!("{base}/callback?{}", url::form_urlencoded::byte_serialize(a.as_bytes()).collect::<String>()),
            {
                let mut url = url::Url::parse(base).unwrap();
                url.path_segments_mut().unwrap().extend(["install", &a]);
                url.set_query(Some(&query(&[("q", &b)])));
                url.to_string()
            },
            format!("{base}/configure?{}", query(&[("configurationId", &a), ("notice", &b)])),
            format!("{base}/install/start?{}", query(&[("then", &a)])),
        ];
        let client = format!("10.0.{}.{}", round / 250, round % 250 + 1);
        for url in gets {
            let request = world.browser.get(&url).header("x-forwarded-for", &client);
            assert_survives(&world, &format!("round {round}: GET {url:.200}"), request).await;
        }
        let choice = format!("choices[{c}]");
        let forms: [(&str, Vec<(&str, &str)>); 5] = [
            ("link_projects", vec![("configuration_id", &a), (&choice, &d), ("finish", &e)]),
            ("finish_install", vec![("configuration_id", &a)]),
            ("unlink_project", vec![("configuration_id", &a), ("project_id", &b)]),
            ("rotate_credentials", vec![("configuration_id", &a), ("resource_id", &b)]),
            ("uninstall", vec![("configuration_id", &a), ("confirm", &c)]),
        ];
        for (name, form) in forms {
            let request = world
                .browser
                .post(format!("{base}/api/{name}"))
                .header(header::ACCEPT, "text/html")
                .header(header::ORIGIN, base)
                .header("x-forwarded-for", &client)
                .form(&form);
            assert_survives(&world, &format!("round {round}: POST {name} {form:?}"), request).await;
        }
        let hook = reqwest::Client::new()
            .post(format!("{base}/webhooks/vercel"))
            .header("x-vercel-signature", url::form_urlencoded::byte_serialize(d.as_bytes()).collect::<String>())
            .body(a.clone().into_bytes());
        assert_survives(&world, &format!("round {round}: webhook"), hook).await;
    }
    // The installation the junk aimed at is still there, untouched.
    assert_eq!(world.get(&format!("/install/{id}")).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_slowloris_connection_is_closed_after_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let world = world().await;
    let addr = world.tether.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let started = std::time::Instant::now();
    socket.write_all(b"GET /healthz HTTP/1.1\r\nHost: tether\r\n").await.unwrap();
    // One header byte a second: never finishing, never idle long.
    let closed_after = loop {
        if socket.write_all(b"X").await.is_err() {
            break started.elapsed();
        }
        let mut buffer = [0u8; 512];
        match tokio::time::timeout(std::time::Duration::from_secs(1), socket.read(&mut buffer)).await {
            Ok(Ok(_)) | Ok(Err(_)) => break started.elapsed(),
            Err(_) => {}
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "the connection is held beyond 20 s");
    };
    let limit = server::startup::HEADER_READ_TIMEOUT;
    assert!(closed_after >= limit - std::time::Duration::from_secs(1), "closed after {closed_after:?}");
    assert!(closed_after < limit + std::time::Duration::from_secs(3), "held for {closed_after:?}");
    println!("slowloris connection held for {closed_after:?}");
}

#[tokio::test]
async fn an_oversized_server_function_body_is_refused_before_it_is_read() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::PERSONAL_USER_ID).await;
    let padding = "x".repeat(server::web::MAX_REQUEST_BODY + 1);
    let response =
        world.post_form("link_projects", &[("configuration_id", &popup.configuration_id), ("padding", &padding)]).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(world.sim.sim.snapshot().env.is_empty(), "nothing was linked");
}

/// Sends `bytes` of body to `path` with `Transfer-Encoding: chunked` (no length announced) and
/// the given extra header lines; returns the status code.
async fn post_chunked(tether: &str, path: &str, headers: &str, bytes: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = tether.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n{headers}\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'a'; 16 * 1024];
    let mut sent = 0;
    while sent < bytes {
        let size = chunk.len().min(bytes - sent);
        // The server may answer and close before the whole body is sent: that is its right.
        if stream.write_all(format!("{size:x}\r\n").as_bytes()).await.is_err()
            || stream.write_all(&chunk[..size]).await.is_err()
            || stream.write_all(b"\r\n").await.is_err()
        {
            break;
        }
        sent += size;
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    answer.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("no status: {answer:?}"))
}

#[tokio::test]
async fn an_oversized_body_is_413_however_it_arrives_and_client_mistakes_log_no_error() {
    let deployment = crate::support::Deployment::new().await;
    let child = deployment.start(&server::seal::Sealer::generate_spec("k1")).await;
    let tether = deployment.tether.clone();
    let over = server::web::MAX_REQUEST_BODY + 1;
    let origin = format!("Origin: {tether}\r\n");
    let cases = [
        ("a server function, chunked", "/api/link_projects", origin.as_str()),
        ("a server function without Origin, chunked", "/api/link_projects", ""),
        ("a webhook, chunked", "/webhooks/vercel", ""),
        ("the callback, chunked", "/callback", origin.as_str()),
    ];
    for (what, path, headers) in cases {
        assert_eq!(post_chunked(&tether, path, headers, over).await, 413, "{what}");
        assert_ne!(post_chunked(&tether, path, headers, 1000).await, 413, "{what}: a small body is not refused");
    }
    let declared = reqwest::Client::new()
        .post(format!("{tether}/api/link_projects"))
        .header(header::ORIGIN, &tether)
        .body(vec![b'a'; over])
        .send()
        .await
        .unwrap();
    assert_eq!(declared.status(), StatusCode::PAYLOAD_TOO_LARGE, "with Content-Length");
    // Other client mistakes: garbage where a form, a signature or a parameter should be.
    let client = reqwest::Client::new();
    let _ = client.post(format!("{tether}/api/link_projects")).header(header::ORIGIN, &tether).body("%%%").send().await;
    let _ = client.post(format!("{tether}/api/nope")).header(header::ORIGIN, &tether).body("a=b").send().await;
    let _ = client.post(format!("{tether}/webhooks/vercel")).body("{").send().await;
    let _ = client.get(format!("{tether}/callback?code=%ff&configurationId=%00")).send().await;
    let _ = client.get(format!("{tether}/install/..%2f..")).send().await;
    crate::support::kill(child);
    let log = std::fs::read_to_string(deployment.dir.join("output.log")).unwrap();
    let errors: Vec<&str> = log.lines().filter(|line| line.contains("ERROR")).collect();
    assert!(errors.is_empty(), "client mistakes logged at error level: {errors:#?}");
}

#[tokio::test]
async fn a_junk_code_flood_is_rate_limited_per_client_while_real_installs_go_on() {
    let world = world_with(Some(BEHIND_A_BALANCER)).await;
    let real = world.sim.sim.begin_install(vercel_sim::TEAM_ID, "marketplace").unwrap();
    let configuration_id = real.split("configurationId=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let next = format!("{}/integrations/tether/installed", world.sim.url());
    let flood = (0..1000).map(|n| {
        let url = format!(
            "{}/callback?code=junkcode{n:06}&configurationId={configuration_id}&next={}",
            world.tether,
            url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        );
        // An attacker may claim any address in the header: the balancer appends the real one last.
        world.browser.get(url).header("x-forwarded-for", format!("1.2.3.{}, 10.66.0.1", n % 250)).send()
    });
    let started = std::time::Instant::now();
    let statuses: Vec<u16> =
        futures::future::join_all(flood).await.into_iter().map(|r| r.unwrap().status().as_u16()).collect();
    let took = started.elapsed();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    let exchanges = world.sim.sim.snapshot().exchanges;
    let bound =
        server::limits::CALLBACK.burst as u64 + took.as_millis() as u64 / server::limits::CALLBACK.refill_every_ms + 1;
    assert!(exchanges as u64 <= bound, "{exchanges} exchange calls for 1,000 junk callbacks in {took:?}");
    assert!(limited >= 900, "{limited} of 1,000 were refused with 429");
    println!(
        "junk-code flood: 1,000 callbacks in {took:?} made {exchanges} exchange calls at Vercel, {limited} got 429"
    );

    // The flooding client stays refused: its bucket gains one request per refill period, so of
    // three tries right after the flood, only as many pass as periods went by (plus one begun).
    let flood_ended = std::time::Instant::now();
    let mut refused = Vec::new();
    for n in 0..3 {
        // A junk code: a try that gets through must not spend the real install's code.
        let url = format!("{}/callback?code=latejunk{n}&configurationId={configuration_id}", world.tether);
        let response = world.browser.get(url).header("x-forwarded-for", "10.66.0.1").send().await.unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused.push(response);
        }
    }
    let refills = flood_ended.elapsed().as_millis() as u64 / server::limits::CALLBACK.refill_every_ms + 1;
    assert!(3 - refused.len() as u64 <= refills, "{} of 3 tries got through after the flood", 3 - refused.len());
    let retry_after = refused.first().expect("the flooding client is refused after the flood").headers()
        [header::RETRY_AFTER]
        .to_str()
        .unwrap();
    assert!(retry_after.parse::<u64>().unwrap() >= 1);

    // Another client installs normally all along.
    let response = world.browser.get(&real).header("x-forwarded-for", "10.7.0.1").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

/// Junk callbacks, one from each of these addresses (as the balancer names them); their statuses.
async fn junk_callbacks(world: &World, configuration_id: &str, from: impl Iterator<Item = String>) -> Vec<u16> {
    let next = format!("{}/integrations/tether/installed", world.sim.url());
    let next = url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>();
    let requests = from.enumerate().map(|(n, address)| {
        let url =
            format!("{}/callback?code=junkcode{n:06}&configurationId={configuration_id}&next={next}", world.tether);
        world.browser.get(url).header("x-forwarded-for", address).send()
    });
    futures::future::join_all(requests).await.into_iter().map(|r| r.unwrap().status().as_u16()).collect()
}

#[tokio::test]
async fn an_ipv6_client_counts_by_its_64_and_a_mapped_ipv4_address_as_itself() {
    let world = world_with(Some(BEHIND_A_BALANCER)).await;
    let real = world.sim.sim.begin_install(vercel_sim::TEAM_ID, "marketplace").unwrap();
    let configuration_id = real.split("configurationId=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let burst = server::limits::CALLBACK.burst as usize;

    // 60 callbacks, each from its own address of one /64: one client, over its allowance.
    let statuses = junk_callbacks(&world, &configuration_id, (1..=60).map(|n| format!("2001:db8:7:1::{n:x}"))).await;
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(limited >= 60 - burst - 2, "{limited} of 60 from one /64 met 429: {statuses:?}");
    // The next /64 is another client.
    let response = world.browser.get(&real).header("x-forwarded-for", "2001:db8:7:2::1").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // An IPv4 address is one client whether or not it arrives IPv4-mapped.
    let statuses = junk_callbacks(&world, &configuration_id, (0..40).map(|_| "192.0.2.9".to_owned())).await;
    assert!(statuses.contains(&429), "{statuses:?}");
    let mapped = junk_callbacks(&world, &configuration_id, std::iter::once("::ffff:192.0.2.9".to_owned())).await;
    assert_eq!(mapped, [429], "the mapped form counts against the same allowance");
}

/// A random JSON value, nested a little: what a confused or hostile sender could sign.
fn random_json(rng: &mut StdRng, depth: u32) -> serde_json::Value {
    use serde_json::{json, Value};
    match rng.gen_range(0..if depth > 2 { 4 } else { 7 }) {
        0 => Value::Null,
        1 => json!(rng.gen::<i64>()),
        2 => json!(PIECES.choose(rng).unwrap()),
        3 => json!(rng.gen::<bool>()),
        4 => Value::Array((0..rng.gen_range(0..4)).map(|_| random_json(rng, depth + 1)).collect()),
        _ => {
            let keys = [
                "id",
                "configuration",
                "project",
                "projects",
                "team",
                "user",
                "added",
                "removed",
                "deployment",
                "url",
                "scopes",
                "newTeamId",
                "previousTeamId",
                "target",
            ];
            Value::Object(
                (0..rng.gen_range(0..5))
                    .map(|_| (keys.choose(rng).unwrap().to_string(), random_json(rng, depth + 1)))
                    .collect(),
            )
        }
    }
}

#[tokio::test]
async fn signed_junk_webhooks_are_answered_and_applied_without_a_panic() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    let mut rng = StdRng::seed_from_u64(19);
    let kinds = [
        "integration-configuration.removed",
        "integration-configuration-removed",
        "integration-configuration.permission-upgraded",
        "integration-configuration.scope-change-confirmed",
        "integration-configuration.transferred",
        "project.created",
        "project.removed",
        "deployment.created",
        "deployment.succeeded",
        "deployment.error",
        "something.new",
    ];
    let mut stored = Vec::new();
    for n in 0..300 {
        let body = if n % 5 == 0 {
            // Not even JSON, but correctly signed: refused as a bad request, not a crash.
            (0..rng.gen_range(0..200)).map(|_| rng.gen::<u8>()).collect::<Vec<u8>>()
        } else {
            let mut payload = random_json(&mut rng, 0);
            if rng.gen_bool(0.3) {
                // Now and then aimed at the real installation.
                payload = serde_json::json!({"configuration": {"id": popup.configuration_id}, "extra": payload});
            }
            let id = format!("evt_junk_{n}");
            stored.push(id.clone());
            serde_json::to_vec(&serde_json::json!({
                "id": id, "type": kinds.choose(&mut rng).unwrap(), "createdAt": server::store::now_ms(), "payload": payload
            }))
            .unwrap()
        };
        let signature = server::webhook::verify::sign(&body, vercel_sim::DEFAULT_CLIENT_SECRET);
        let status = world.post_webhook(&body, Some(&signature)).await;
        assert!(status == StatusCode::OK || status == StatusCode::BAD_REQUEST, "event {n}: {status}");
    }
    // The worker got through every stored one: nothing it could not apply stopped it.
    for id in &stored {
        world.applied(id).await;
    }
}

#[tokio::test]
async fn a_request_that_runs_past_the_request_timeout_is_answered_408() {
    let world = world_with(Some("[server]\nrequest_timeout_secs = 2\n")).await;
    let url = world.sim.sim.begin_install(vercel_sim::TEAM_ID, "marketplace").unwrap();
    let location = world.browser.get(&url).send().await.unwrap().headers()[header::LOCATION].clone();
    // Vercel holds its answer longer than the whole request may take.
    world.sim.sim.stall_next("GET", "/v10/projects", std::time::Duration::from_secs(8));
    let started = std::time::Instant::now();
    let response = world.get(location.to_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "answered after {:?}", started.elapsed());
}
