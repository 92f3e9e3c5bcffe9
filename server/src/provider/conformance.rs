//! `server provider-check <base_url>`: what a vendor runs against its own implementation of the
//! contract before pointing Tether at it. Every endpoint is called with signed requests on a
//! throwaway account; shapes, idempotency, rotation, release and the refusal of bad signatures
//! are checked, and each check prints PASS or FAIL with what was wrong.

use serde_json::{json, Value};
use url::Url;

use super::signing::{self, SigningKey};

pub struct Check {
    pub name: &'static str,
    /// `None` when it passed; otherwise what was wrong.
    pub failure: Option<String>,
}

struct Checks(Vec<Check>);

impl Checks {
    fn record(&mut self, name: &'static str, result: Result<(), String>) {
        self.0.push(Check { name, failure: result.err() });
    }
}

struct Client {
    base: Url,
    keys: Vec<SigningKey>,
    http: reqwest::Client,
}

/// How a request is signed, to check the vendor refuses the wrong ways.
enum Signing<'a> {
    Proper,
    Unsigned,
    With(&'a [SigningKey]),
    Stale,
}

impl Client {
    async fn post(
        &self,
        path: &str,
        body: &Value,
        signing: Signing<'_>,
        idempotency_key: Option<&str>,
    ) -> Result<(u16, Value), String> {
        let url = format!("{}{path}", self.base.as_str().trim_end_matches('/'));
        let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let now = crate::store::now_ms() / 1000;
        let mut request = self.http.post(&url).header("content-type", "application/json").body(bytes.clone());
        let signed = match signing {
            Signing::Proper => Some(signing::sign(&self.keys, &signing::new_message_id(), now, &bytes)),
            Signing::With(keys) => Some(signing::sign(keys, &signing::new_message_id(), now, &bytes)),
            Signing::Stale => Some(signing::sign(&self.keys, &signing::new_message_id(), now - 10 * 60, &bytes)),
            Signing::Unsigned => None,
        };
        if let Some(signed) = signed {
            request = request
                .header("webhook-id", signed.id)
                .header("webhook-timestamp", signed.timestamp.to_string())
                .header("webhook-signature", signed.signature)
                .header("tether-key-id", signed.key_ids);
        }
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| e.to_string())?;
        let value =
            if text.trim().is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::Null) };
        Ok((status, value))
    }
}

fn expect(cond: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(why())
    }
}

fn resource_ok(value: &Value) -> Result<String, String> {
    let id = value["id"].as_str().ok_or("a resource without a string `id`")?;
    expect(super::valid_resource_id(id), || format!("resource id `{id}` is outside ^[A-Za-z0-9_.:-]{{1,64}}$"))?;
    expect(value["name"].is_string(), || format!("resource `{id}` has no string `name`"))?;
    Ok(id.to_owned())
}

fn env_ok(value: &Value) -> Result<Vec<(String, String)>, String> {
    let vars = value["env"].as_array().ok_or("no `env` array")?;
    let mut pairs = Vec::new();
    for var in vars {
        let key = var["key"].as_str().ok_or("an env var without a string `key`")?;
        expect(crate::config::valid_env_key(key), || format!("env key `{key}` is not a valid name"))?;
        let value = var["value"].as_str().ok_or_else(|| format!("`{key}` has no string `value`"))?;
        if let Some(targets) = var.get("targets") {
            let targets = targets.as_array().ok_or_else(|| format!("`{key}`: `targets` is not an array"))?;
            let known = targets.iter().all(|t| matches!(t.as_str(), Some("production" | "preview" | "development")));
            expect(known && !targets.is_empty(), || {
                format!("`{key}`: targets must be production, preview or development")
            })?;
        }
        pairs.push((key.to_owned(), value.to_owned()));
    }
    Ok(pairs)
}

async fn env(client: &Client, body: &Value) -> Result<Vec<(String, String)>, String> {
    let (status, answer) = client.post("/resources/env", body, Signing::Proper, None).await?;
    status_is(&[200], status, &answer)?;
    env_ok(&answer)
}

fn status_is(expected: &[u16], got: u16, body: &Value) -> Result<(), String> {
    expect(expected.contains(&got), || format!("answered {got} {body}, expected {expected:?}"))
}

/// Runs every check in order; later ones build on what earlier ones created.
pub async fn run(base: Url, keys: Vec<SigningKey>) -> Vec<Check> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .unwrap_or_default();
    let client = Client { base, keys, http };
    let account = format!("tether_conformance_{}", rand::random::<u32>());
    let list = json!({"action": "resources.list", "account": account});
    let mut checks = Checks(Vec::new());
    let mut record = |name: &'static str, result: Result<(), String>| checks.record(name, result);

    let stranger = signing::parse_keys(&SigningKey::generate_spec("x")).unwrap_or_default();
    for (name, way) in [
        ("refuses an unsigned request (401)", Signing::Unsigned),
        ("refuses a request signed with another secret (401)", Signing::With(&stranger)),
        ("refuses a request signed 10 minutes ago (401)", Signing::Stale),
    ] {
        let result = client.post("/resources/list", &list, way, None).await;
        record(name, result.and_then(|(status, body)| status_is(&[401], status, &body)));
    }
    let result = client.post("/resources/env", &list, Signing::Proper, None).await;
    record("refuses a body for another endpoint (400)", result.and_then(|(s, b)| status_is(&[400], s, &b)));

    let result = client.post("/resources/list", &list, Signing::Proper, None).await.and_then(|(status, body)| {
        status_is(&[200], status, &body)?;
        let resources = body["resources"].as_array().ok_or("no `resources` array")?;
        expect(resources.is_empty(), || format!("a new account already has {} resources", resources.len()))
    });
    record("lists a new account's resources: none", result);

    let key = format!("tether-conformance-{}", rand::random::<u64>());
    let create = json!({
        "action": "resources.create", "account": account, "installation_id": "icfg_conformance",
        "project": {"id": "prj_conformance", "name": "conformance"}
    });
    let first = client.post("/resources/create", &create, Signing::Proper, Some(&key)).await.and_then(|(s, b)| {
        status_is(&[200, 201], s, &b)?;
        resource_ok(&b)
    });
    let resource_id = first.as_ref().ok().cloned();
    record("creates a resource (201)", first.map(drop));
    let Some(resource_id) = resource_id else {
        record("the remaining checks need a resource", Err("none was created".into()));
        return checks.0;
    };
    let again = client.post("/resources/create", &create, Signing::Proper, Some(&key)).await.and_then(|(s, b)| {
        status_is(&[200, 201], s, &b)?;
        let id = resource_ok(&b)?;
        expect(id == resource_id, || format!("the same Idempotency-Key made a second resource `{id}`"))
    });
    record("answers the same resource for the same Idempotency-Key", again);
    let listed = client.post("/resources/list", &list, Signing::Proper, None).await.and_then(|(s, b)| {
        status_is(&[200], s, &b)?;
        let ids: Vec<&str> = b["resources"].as_array().into_iter().flatten().filter_map(|r| r["id"].as_str()).collect();
        expect(ids == [resource_id.as_str()], || format!("the list is {ids:?}, expected exactly the created one"))
    });
    record("lists the created resource, once", listed);

    let on_resource = |action: &str| json!({"action": action, "account": account, "resource_id": resource_id});
    let env_body = on_resource("resources.env");
    let before = env(&client, &env_body).await;
    record("answers the env vars a project needs", before.as_ref().map(drop).map_err(Clone::clone));
    let before = before.unwrap_or_default();
    expect(!before.is_empty(), || "no env vars at all".into())
        .map_err(|e| record("names at least one env var", Err(e)))
        .ok();

    let mut begin = on_resource("resources.rotate");
    begin["phase"] = json!("begin");
    let mut finish = begin.clone();
    finish["phase"] = json!("finish");
    let begun = client.post("/resources/rotate", &begin, Signing::Proper, None).await.and_then(|(s, b)| {
        status_is(&[200], s, &b)?;
        env_ok(&b)
    });
    let rotated = begun.as_ref().ok().cloned().unwrap_or_default();
    record(
        "begins a rotation with new values",
        begun.and_then(|vars| expect(vars != before, || "begin answered the old values".into())),
    );
    let resumed = client.post("/resources/rotate", &begin, Signing::Proper, None).await.and_then(|(s, b)| {
        status_is(&[200], s, &b)?;
        let vars = env_ok(&b)?;
        expect(vars == rotated, || "a second begin issued other new values: a rotation must be resumable".into())
    });
    record("resumes a rotation with the same new values", resumed);
    let during = env(&client, &env_body)
        .await
        .and_then(|vars| expect(vars == rotated, || "env does not answer the new values during the rotation".into()));
    record("answers the new values during a rotation", during);
    let finished = client.post("/resources/rotate", &finish, Signing::Proper, None).await;
    record("finishes a rotation", finished.and_then(|(s, b)| status_is(&[200], s, &b)));
    let after = env(&client, &env_body)
        .await
        .and_then(|vars| expect(vars == rotated, || "env changed again after finish".into()));
    record("keeps the new values after the rotation", after);
    let finished = client.post("/resources/rotate", &finish, Signing::Proper, None).await;
    record("finish without a rotation does nothing (200)", finished.and_then(|(s, b)| status_is(&[200], s, &b)));

    let release = on_resource("resources.release");
    for name in ["releases the resource", "releases it again (idempotent, 200)"] {
        let result = client.post("/resources/release", &release, Signing::Proper, None).await;
        record(name, result.and_then(|(s, b)| status_is(&[200], s, &b)));
    }
    let gone =
        client.post("/resources/env", &on_resource("resources.env"), Signing::Proper, None).await.and_then(|(s, b)| {
            status_is(&[404], s, &b)?;
            expect(b["error"]["code"] == "unknown_resource", || {
                format!("the error code is {}, not unknown_resource", b["error"]["code"])
            })
        });
    record("answers 404 unknown_resource for a released resource", gone);

    let notice = json!({
        "action": "notices", "id": format!("ntc_conformance_{}", rand::random::<u32>()),
        "type": "installation.removed", "installation_id": "icfg_conformance", "account": account
    });
    for name in ["accepts a notice", "accepts the same notice again (at least once)"] {
        let result = client.post("/notices", &notice, Signing::Proper, None).await;
        record(name, result.and_then(|(s, b)| status_is(&[200], s, &b)));
    }
    checks.0
}
