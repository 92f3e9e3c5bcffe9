//! Check 29: kill -9 in the middle of many concurrent installs. After the restart, every install
//! whose popup reached `next` is complete in the database, with Vercel's ids for every variable
//! Vercel holds; no request during the run failed for the database ("database is locked").

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use reqwest::{header, StatusCode};

use crate::support::{icfg, kill, stored_bytes, Deployment};

const INSTALLS: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_a_thousand_concurrent_installs_loses_no_finished_install() {
    let deployment = Arc::new(Deployment::new().await);
    let keys = server::seal::Sealer::generate_spec("k1");
    let teams: Vec<(String, String)> = (0..INSTALLS)
        .map(|n| {
            let team = format!("team_load{n:04}");
            let project = deployment.sim.sim.add_team(&team, &format!("Load {n}"), 1).remove(0);
            (team, project)
        })
        .collect();
    // One client address per install, as many browsers would be: the per-client limits stay out of it.
    let child = deployment.start_with(&keys, &[("TETHER_CLIENT_IP_HEADER", "x-forwarded-for")]).await;
    let finished = Arc::new(AtomicUsize::new(0));
    let server_errors = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (n, (team, project)) in teams.into_iter().enumerate() {
        let (deployment, finished, server_errors) = (deployment.clone(), finished.clone(), server_errors.clone());
        tasks.push(tokio::spawn(async move {
            let client = format!("10.{}.{}.1", n / 250, n % 250);
            let browser = Deployment::browser();
            let callback = deployment.sim.sim.begin_install(&team, "marketplace")?;
            let response = browser.get(&callback).header("x-forwarded-for", &client).send().await.ok()?;
            if response.status().is_server_error() {
                server_errors.fetch_add(1, Ordering::SeqCst);
            }
            let configuration_id =
                response.headers().get(header::LOCATION)?.to_str().ok()?.trim_start_matches("/install/").to_owned();
            let form = [
                ("configuration_id".to_owned(), configuration_id.clone()),
                (format!("choices[{project}]"), "new".to_owned()),
                ("finish".to_owned(), "1".to_owned()),
            ];
            let linked = browser
                .post(format!("{}/api/link_projects", deployment.tether))
                .header(header::ORIGIN, &deployment.tether)
                .header(header::ACCEPT, "text/html")
                .header("x-forwarded-for", &client)
                .form(&form)
                .send()
                .await
                .ok()?;
            if linked.status().is_server_error() {
                server_errors.fetch_add(1, Ordering::SeqCst);
            }
            let next = linked.headers().get(header::LOCATION)?.to_str().ok()?.to_owned();
            let reached_next = linked.status() == StatusCode::FOUND && next.ends_with("/done");
            if reached_next {
                finished.fetch_add(1, Ordering::SeqCst);
            }
            reached_next.then_some((configuration_id, project))
        }));
    }
    // Kill the server once about a third of the popups have reached `next`; if they all ended
    // short of that (say every link ran out of its time budget), the assertion below says so
    // rather than this loop waiting forever.
    while finished.load(Ordering::SeqCst) < INSTALLS / 3 && !tasks.iter().all(|t| t.is_finished()) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kill(child);
    let mut reached = Vec::new();
    for task in tasks {
        if let Ok(Some(done)) = task.await {
            reached.push(done);
        }
    }
    assert_eq!(server_errors.load(Ordering::SeqCst), 0, "no request failed on the server's side before the kill");
    assert!(reached.len() >= INSTALLS / 3, "{} reached next", reached.len());

    // Restart: every popup that reached next is complete, with Vercel's ids recorded.
    let child = deployment.start_with(&keys, &[]).await;
    let store = deployment.store().await;
    let at_vercel = deployment.sim.sim.snapshot().env;
    for (configuration_id, project) in &reached {
        let link = store.link(&icfg(configuration_id), project).await.unwrap().expect("a link row");
        assert_eq!(link.status, server::store::links::LinkStatus::Linked, "{configuration_id} reached next");
        let mut recorded = store.env_var_ids(&icfg(configuration_id), project).await.unwrap();
        let mut held: Vec<String> = at_vercel[project].iter().map(|v| v.id.clone()).collect();
        recorded.sort();
        held.sort();
        assert_eq!(recorded, held, "{configuration_id}: every variable Vercel holds is recorded");
    }
    println!("kill -9 after {} of {INSTALLS} installs reached next: all complete after restart", reached.len());
    kill(child);

    // Check 22 on the way: after all these installs no token is in the database in clear
    // (every simulator token starts `sim_tok_`), while the ids it stored are there.
    let database = stored_bytes(&deployment.dir).await;
    let contains = |needle: &[u8]| database.windows(needle.len()).any(|w| w == needle);
    assert!(contains(reached[0].0.as_bytes()), "positive control: the search finds what is stored");
    assert!(deployment.sim.sim.issued_tokens().len() >= INSTALLS / 3);
    assert!(!contains(b"sim_tok_"), "a token is in the database in clear");
}
