//! `server provider-check <base_url>`: what a vendor runs against its own implementation of the
//! contract before pointing Tether at it. Every endpoint is called with signed requests on a
//! throwaway account; shapes, idempotency, rotation, release and the refusal of bad signatures
//! are checked, and each check prints PASS or FAIL with what was wrong.

use serde_json::{json, Value};
use url::Url;

use crate::signing::{self, SigningKey};

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

/// How a request is signed, to check the vendor refuses the wrong ways and takes the right ones.
enum Signing<'a> {
    Proper,
    Unsigned,
    With(&'a [SigningKey]),
    /// Properly, but `seconds` away from now (negative: in the past).
    At(i64),
}

/// What a vendor answered: the status, the body as JSON (`Null` when it is not JSON) and
/// whether it said its body is JSON.
struct Answer {
    status: u16,
    body: Value,
    json: bool,
}

impl Client {
    async fn post(
        &self,
        path: &str,
        body: &Value,
        signing: Signing<'_>,
        idempotency_key: Option<&str>,
    ) -> Result<Answer, String> {
        let url = format!("{}{path}", self.base.as_str().trim_end_matches('/'));
        let bytes = body.to_string().into_bytes();
        let now = crate::store::now_ms() / 1000;
        let mut request = self.http.post(&url).header("content-type", "application/json").body(bytes.clone());
        let signed = match signing {
            Signing::Proper => Some(signing::sign(&self.keys, &signing::new_message_id(), now, &bytes)),
            Signing::With(keys) => Some(signing::sign(keys, &signing::new_message_id(), now, &bytes)),
            Signing::At(offset) => Some(signing::sign(&self.keys, &signing::new_message_id(), now + offset, &bytes)),
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
        let json =
            response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
                v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
            });
        let text = response.text().await.map_err(|e| e.to_string())?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Answer { status, body, json })
    }
}

impl Answer {
    /// One of these statuses, as JSON. An error also in the contract's shape, with this code.
    fn is(&self, expected: &[u16]) -> Result<(), String> {
        let Answer { status, body, json } = self;
        expect(expected.contains(status), || format!("answered {status} {body}, expected {expected:?}"))?;
        expect(*json, || format!("answered {status} without Content-Type: application/json"))?;
        if *status >= 400 {
            let shaped = body["error"]["code"].is_string() && body["error"]["message"].is_string();
            expect(shaped, || format!("answered {status} {body}, not {{\"error\":{{\"code\",\"message\"}}}}"))?;
        }
        Ok(())
    }

    /// An error with this status and code.
    fn error(&self, status: u16, code: &str) -> Result<(), String> {
        self.is(&[status])?;
        let got = &self.body["error"]["code"];
        expect(got == code, || format!("the error code is {got}, not {code}"))
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
        expect(crate::settings::valid_env_key(key), || format!("env key `{key}` is not a valid name"))?;
        let value = var["value"].as_str().ok_or_else(|| format!("`{key}` has no string `value`"))?;
        if let Some(targets) = var.get("targets") {
            let targets = targets.as_array().ok_or_else(|| format!("`{key}`: `targets` is not an array"))?;
            let known = targets.iter().all(|t| matches!(t.as_str(), Some("production" | "preview" | "development")));
            expect(known && !targets.is_empty(), || {
                format!("`{key}`: targets must be production, preview or development")
            })?;
        }
        if let Some(comment) = var.get("comment") {
            let fits = comment.as_str().is_some_and(|c| c.chars().count() <= crate::settings::MAX_ENV_COMMENT_CHARS);
            expect(fits, || format!("`{key}`: `comment` must be a string of at most 500 characters"))?;
        }
        pairs.push((key.to_owned(), value.to_owned()));
    }
    Ok(pairs)
}

async fn env(client: &Client, body: &Value) -> Result<Vec<(String, String)>, String> {
    let answer = client.post("/resources/env", body, Signing::Proper, None).await?;
    answer.is(&[200])?;
    env_ok(&answer.body)
}

/// The checks that need a resource the vendor created: when creating fails, each is reported
/// as not run, so every run's summary counts the same checks.
const NEED_A_RESOURCE: [&str; 17] = [
    "answers 200 and the same resource for a repeated Idempotency-Key",
    "lists the created resource, once",
    "keeps an account's resources from another account's list",
    "answers 404 unknown_resource for another account's resource",
    "answers the env vars a project needs",
    "names at least one env var",
    "begins a rotation with new values",
    "resumes a rotation with the same new values",
    "answers the new values during a rotation",
    "finishes a rotation",
    "keeps the new values after the rotation",
    "finish without a rotation does nothing (200)",
    "refuses to release another account's resource (404 unknown_resource)",
    "releases the resource (200 {})",
    "releases it again (idempotent, 200 {})",
    "answers 404 unknown_resource for a released resource",
    "still has another account's resource after that account's release was refused",
];

/// Runs every check in order; later ones build on what earlier ones created. Every run records
/// the same checks, in the same order.
/// The single sign-on checks, run when the vendor names its sign-in page.
pub const SSO_CHECKS: [&str; 5] = [
    "sso: signs in the user of a ticket Tether signed (2xx or 3xx)",
    "sso: refuses the same ticket a second time (4xx)",
    "sso: refuses a ticket signed by a key it does not know (4xx)",
    "sso: refuses an expired ticket (4xx)",
    "sso: refuses an altered ticket (4xx)",
];

pub async fn run(base: Url, keys: Vec<SigningKey>, sign_in: Option<Url>) -> Vec<Check> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(super::http::ATTEMPT_TIMEOUT)
        .build()
        .unwrap_or_default();
    let client = Client { base, keys, http };
    let account = format!("tether_conformance_{}", rand::random::<u32>());
    let mut checks = Checks(Vec::new());
    let mut record = |name: &'static str, result: Result<(), String>| checks.record(name, result);
    signature_checks(&client, &account, &mut record).await;
    match creation_checks(&client, &account, &mut record).await {
        Some(created) => {
            let subject = Subject::of(&client, &account, &created.resource_id);
            repeat_and_wall_checks(&subject, &created, &mut record).await;
            rotation_checks(&subject, &mut record).await;
            release_checks(&subject, &mut record).await;
        }
        None => {
            for name in NEED_A_RESOURCE {
                record(name, Err("not run: no resource was created".into()));
            }
        }
    }
    notice_checks(&client, &account, &mut record).await;
    if let Some(page) = sign_in {
        sso_checks(&client, &page, &account, &mut record).await;
    }
    checks.0
}

/// The sign-in page takes a ticket Tether signed, once, and nothing else (the contract's
/// "Single sign-on"): each answer's status, 3xx not followed.
async fn sso_checks(client: &Client, page: &Url, account: &str, record: &mut Record<'_>) {
    use super::ticket::{self, SsoTicket};
    let now = crate::store::now_ms();
    let ticket = |expires_at: i64| SsoTicket {
        installation_id: "icfg_tether_conformance",
        account,
        user_id: "user_tether_conformance",
        role: "ADMIN",
        resource_id: None,
        project_id: None,
        path: None,
        url: None,
        nonce: SsoTicket::new_nonce(),
        expires_at,
    };
    let status = |url: Url| async move {
        let response = client.http.get(url.clone()).send().await.map_err(|e| format!("{url}: {e}"))?;
        Ok::<u16, String>(response.status().as_u16())
    };
    let signs_in = |status: u16| match (200..400).contains(&status) {
        true => Ok(()),
        false => Err(format!("answered {status}")),
    };
    let refuses = |status: u16| match (400..500).contains(&status) {
        true => Ok(()),
        false => Err(format!("answered {status}: it must sign nobody in")),
    };
    let genuine = ticket(now + ticket::LIFETIME_MS).link(page, &client.keys);
    let [first, second, stranger, expired, altered] = SSO_CHECKS;
    record(first, status(genuine.clone()).await.and_then(signs_in));
    record(second, status(genuine).await.and_then(refuses));
    let strangers = signing::parse_keys(&SigningKey::generate_spec("x")).unwrap_or_default();
    let by_stranger = ticket(now + ticket::LIFETIME_MS).link(page, &strangers);
    record(stranger, status(by_stranger).await.and_then(refuses));
    let late = ticket(now - 1_000).link(page, &client.keys);
    record(expired, status(late).await.and_then(refuses));
    // The signature of one ticket over another's content: another account, the same nonce.
    let mine = ticket(now + ticket::LIFETIME_MS);
    let signature = ticket::sign(&client.keys, &mine.encode());
    let theirs = SsoTicket { account: "someone_else", ..mine };
    record(altered, status(ticket::link(page, &theirs.encode(), &signature)).await.and_then(refuses));
}

type Record<'a> = dyn FnMut(&'static str, Result<(), String>) + 'a;

/// Signatures: the wrong ways refused, every right way taken; then a listing of the new account.
async fn signature_checks(client: &Client, account: &str, record: &mut Record<'_>) {
    let list = json!({"action": "resources.list", "account": account});
    let stranger = signing::parse_keys(&SigningKey::generate_spec("x")).unwrap_or_default();
    let window = signing::TOLERANCE_SECS;
    for (name, way) in [
        ("refuses an unsigned request (401 bad_signature)", Signing::Unsigned),
        ("refuses a request signed with another secret (401 bad_signature)", Signing::With(&stranger)),
        ("refuses a request signed 10 minutes ago (401 bad_signature)", Signing::At(-2 * window)),
        ("refuses a request signed 10 minutes ahead (401 bad_signature)", Signing::At(2 * window)),
    ] {
        let result = client.post("/resources/list", &list, way, None).await;
        record(name, result.and_then(|answer| answer.error(401, "bad_signature")));
    }
    let mut several = stranger.clone();
    several.extend(client.keys.iter().cloned());
    for (name, way) in [
        ("takes a request signed 4 minutes ago", Signing::At(-(window - 60))),
        ("takes a request signed 4 minutes ahead (clocks differ)", Signing::At(window - 60)),
        ("takes a valid signature after one by a key it does not know", Signing::With(&several)),
    ] {
        let result = client.post("/resources/list", &list, way, None).await;
        record(name, result.and_then(|answer| answer.is(&[200])));
    }
    let result = client.post("/resources/env", &list, Signing::Proper, None).await;
    record("refuses a body for another endpoint (400 wrong_action)", result.and_then(|a| a.error(400, "wrong_action")));

    let result = client.post("/resources/list", &list, Signing::Proper, None).await.and_then(|answer| {
        answer.is(&[200])?;
        let resources = answer.body["resources"].as_array().ok_or("no `resources` array")?;
        expect(resources.is_empty(), || format!("a new account already has {} resources", resources.len()))
    });
    record("lists a new account's resources: none", result);
}

/// The resource the creation checks made, and how.
struct Created {
    create: Value,
    key: String,
    resource_id: String,
}

/// Creation: the key required and bounded, a failed first attempt not replayed.
async fn creation_checks(client: &Client, account: &str, record: &mut Record<'_>) -> Option<Created> {
    let key = format!("tether-conformance-{}", rand::random::<u64>());
    let create = json!({
        "action": "resources.create", "account": account, "installation_id": "icfg_conformance",
        "project": {"id": "prj_conformance", "name": "conformance"}
    });
    let result = client.post("/resources/create", &create, Signing::Proper, None).await;
    record(
        "refuses a create without Idempotency-Key (400 idempotency_key_missing)",
        result.and_then(|a| a.error(400, "idempotency_key_missing")),
    );
    let result = client.post("/resources/create", &create, Signing::Proper, Some(&"k".repeat(129))).await;
    record(
        "refuses an Idempotency-Key over 128 characters (400 idempotency_key_invalid)",
        result.and_then(|a| a.error(400, "idempotency_key_invalid")),
    );
    let mut incomplete = create.clone();
    incomplete.as_object_mut().map(|body| body.remove("project"));
    let result = client.post("/resources/create", &incomplete, Signing::Proper, Some(&key)).await;
    record(
        "refuses a create with neither a project nor a resource name (400 bad_request)",
        result.and_then(|a| a.error(400, "bad_request")),
    );
    let first = client.post("/resources/create", &create, Signing::Proper, Some(&key)).await.and_then(|answer| {
        answer.is(&[201]).map_err(|why| format!("{why} (a key whose first attempt failed is a new request)"))?;
        resource_ok(&answer.body)
    });
    let resource_id = first.as_ref().ok().cloned();
    record("creates a resource (201), with a key whose first attempt failed", first.map(drop));
    native_creation_check(client, account, &key, record).await;
    Some(Created { create, key, resource_id: resource_id? })
}

/// Vercel's create form (native integrations): no project, a name to give the resource. What it
/// made is released at once, so the check leaves the account as it found it.
async fn native_creation_check(client: &Client, account: &str, key: &str, record: &mut Record<'_>) {
    let name = "conformance-native";
    let create = json!({
        "action": "resources.create", "account": account, "installation_id": "icfg_conformance",
        "product": {"id": "conformance", "name": "Conformance"}, "name": name, "metadata": {},
        "plan": {"id": "free", "name": "Free"}
    });
    let made = client.post("/resources/create", &create, Signing::Proper, Some(&format!("{key}-native"))).await;
    let made = made.and_then(|answer| {
        answer.is(&[201])?;
        let id = resource_ok(&answer.body)?;
        expect(answer.body["name"] == name, || format!("named it {}, not `{name}` as asked", answer.body["name"]))?;
        Ok(id)
    });
    if let Ok(id) = &made {
        let release = json!({
            "action": "resources.release", "account": account, "resource_id": id,
            "installation_id": "icfg_conformance", "origin": "created"
        });
        // Its own checks come later; here it only tidies up.
        let _released = client.post("/resources/release", &release, Signing::Proper, None).await;
    }
    record("creates a resource for Vercel's create form, named as asked (201)", made.map(drop));
}

/// Notices: taken, taken again, and taken when of a type the vendor does not know.
async fn notice_checks(client: &Client, account: &str, record: &mut Record<'_>) {
    let notice = json!({
        "action": "notices", "id": format!("ntc_conformance_{}", rand::random::<u32>()),
        "type": "installation.removed", "installation_id": "icfg_conformance", "account": account
    });
    for name in ["accepts a notice (200 {})", "accepts the same notice again (at least once, 200 {})"] {
        let result = client.post("/notices", &notice, Signing::Proper, None).await;
        record(name, result.and_then(|answer| empty_object(&answer)));
    }
    let mut unknown = notice.clone();
    unknown["id"] = json!(format!("ntc_conformance_{}", rand::random::<u32>()));
    unknown["type"] = json!("something.new");
    let result = client.post("/notices", &unknown, Signing::Proper, None).await;
    record("accepts a notice of a type it does not know (200)", result.and_then(|answer| answer.is(&[200])));
}

/// 200 with `{}`, the contract's answer to a notice and a release.
fn empty_object(answer: &Answer) -> Result<(), String> {
    answer.is(&[200])?;
    expect(answer.body == json!({}), || format!("answered {}, expected {{}}", answer.body))
}

/// The created resource the remaining checks work on, seen from its account and another.
struct Subject<'a> {
    client: &'a Client,
    account: &'a str,
    other: String,
    resource_id: String,
    /// `resources.env` for the resource, from its own account.
    env_body: Value,
}

impl<'a> Subject<'a> {
    fn of(client: &'a Client, account: &'a str, resource_id: &str) -> Self {
        let mut subject = Self {
            client,
            account,
            other: format!("{account}_other"),
            resource_id: resource_id.to_owned(),
            env_body: Value::Null,
        };
        subject.env_body = subject.on("resources.env", account);
        subject
    }

    /// A body for `action` on the resource, as `account`.
    fn on(&self, action: &str, account: &str) -> Value {
        json!({"action": action, "account": account, "resource_id": self.resource_id})
    }

    async fn listed_ids(&self, account: &str) -> Result<Vec<String>, String> {
        let list = json!({"action": "resources.list", "account": account});
        let answer = self.client.post("/resources/list", &list, Signing::Proper, None).await?;
        answer.is(&[200])?;
        let ids = answer.body["resources"].as_array().into_iter().flatten().filter_map(|r| r["id"].as_str());
        Ok(ids.map(str::to_owned).collect())
    }
}

/// A repeated create answers the same resource; accounts are walls: another account neither
/// lists nor reads it. Then its variables.
async fn repeat_and_wall_checks(subject: &Subject<'_>, created: &Created, record: &mut Record<'_>) {
    let Subject { client, account, other, resource_id, env_body } = subject;
    let again = client.post("/resources/create", &created.create, Signing::Proper, Some(&created.key)).await;
    let again = again.and_then(|answer| {
        answer.is(&[200])?;
        let id = resource_ok(&answer.body)?;
        expect(&id == resource_id, || format!("the same Idempotency-Key made a second resource `{id}`"))
    });
    record(NEED_A_RESOURCE[0], again);
    let listed = subject.listed_ids(account).await.and_then(|ids| {
        expect(ids == [resource_id.clone()], || format!("the list is {ids:?}, expected exactly the created one"))
    });
    record(NEED_A_RESOURCE[1], listed);
    let walled = subject
        .listed_ids(other)
        .await
        .and_then(|ids| expect(!ids.contains(resource_id), || format!("account {other} lists {account}'s resource")));
    record(NEED_A_RESOURCE[2], walled);
    let result = client.post("/resources/env", &subject.on("resources.env", other), Signing::Proper, None).await;
    record(NEED_A_RESOURCE[3], result.and_then(|a| a.error(404, "unknown_resource")));
    let before = env(client, env_body).await;
    record(NEED_A_RESOURCE[4], before.as_ref().map(drop).map_err(Clone::clone));
    let before = before.unwrap_or_default();
    record(NEED_A_RESOURCE[5], expect(!before.is_empty(), || "no env vars at all".into()));
}

/// Rotation in two phases: begin answers new values and resumes, env answers them from then
/// on, finish is final and may be repeated.
async fn rotation_checks(subject: &Subject<'_>, record: &mut Record<'_>) {
    let Subject { client, account, env_body, .. } = subject;
    let before = env(client, env_body).await.unwrap_or_default();
    let mut begin = subject.on("resources.rotate", account);
    begin["phase"] = json!("begin");
    let mut finish = begin.clone();
    finish["phase"] = json!("finish");
    let begun = client.post("/resources/rotate", &begin, Signing::Proper, None).await.and_then(|answer| {
        answer.is(&[200])?;
        env_ok(&answer.body)
    });
    let rotated = begun.as_ref().ok().cloned().unwrap_or_default();
    record(
        NEED_A_RESOURCE[6],
        begun.and_then(|vars| expect(vars != before, || "begin answered the old values".into())),
    );
    let resumed = client.post("/resources/rotate", &begin, Signing::Proper, None).await.and_then(|answer| {
        answer.is(&[200])?;
        let vars = env_ok(&answer.body)?;
        expect(vars == rotated, || "a second begin issued other new values: a rotation must be resumable".into())
    });
    record(NEED_A_RESOURCE[7], resumed);
    let during = env(client, env_body)
        .await
        .and_then(|vars| expect(vars == rotated, || "env does not answer the new values during the rotation".into()));
    record(NEED_A_RESOURCE[8], during);
    let finished = client.post("/resources/rotate", &finish, Signing::Proper, None).await;
    record(NEED_A_RESOURCE[9], finished.and_then(|answer| answer.is(&[200])));
    let after = env(client, env_body)
        .await
        .and_then(|vars| expect(vars == rotated, || "env changed again after finish".into()));
    record(NEED_A_RESOURCE[10], after);
    let finished = client.post("/resources/rotate", &finish, Signing::Proper, None).await;
    record(NEED_A_RESOURCE[11], finished.and_then(|answer| answer.is(&[200])));
}

/// A release names the installation the resource was created for, and that Tether created
/// it; another account's release is refused, a repeated one answered the same.
async fn release_checks(subject: &Subject<'_>, record: &mut Record<'_>) {
    let Subject { client, account, other, env_body, .. } = subject;
    let release = |account: &str| {
        let mut body = subject.on("resources.release", account);
        body["installation_id"] = json!("icfg_conformance");
        body["origin"] = json!("created");
        body
    };
    let foreign = client.post("/resources/release", &release(other.as_str()), Signing::Proper, None).await;
    record(NEED_A_RESOURCE[12], foreign.and_then(|a| a.error(404, "unknown_resource")));
    let still = env(client, env_body).await.map(drop);
    for name in [NEED_A_RESOURCE[13], NEED_A_RESOURCE[14]] {
        let result = client.post("/resources/release", &release(account), Signing::Proper, None).await;
        record(name, result.and_then(|answer| empty_object(&answer)));
    }
    let gone = client.post("/resources/env", env_body, Signing::Proper, None).await;
    record(NEED_A_RESOURCE[15], gone.and_then(|a| a.error(404, "unknown_resource")));
    record(NEED_A_RESOURCE[16], still.map_err(|why| format!("after another account's release: {why}")));
}
