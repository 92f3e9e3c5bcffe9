//! The vendor's calls to Tether (the contract's "Calls you make to Tether"), as a vendor writes
//! them: a `POST` to `{Tether}/provider/v1/…` signed with the shared keys the same way Tether
//! signs its calls here, one `webhook-id` for a call and all its retries. And the vendor's own
//! console buttons that make them: suspend a database, reset its credentials.

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{Html, IntoResponse, Response},
};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Value};

use crate::{
    html::escape,
    signature::call_mac,
    vendor::{random, Session},
    Vendor,
};

/// Attempts per call: the first, and two retries of a 5xx or a lost connection.
const ATTEMPTS: u32 = 3;

/// `v1,…` by every key, separated by spaces: Tether accepts any of them.
fn signatures(keys: &[Vec<u8>], id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .filter_map(|key| call_mac(key, id, timestamp, body).map(|mac| format!("v1,{}", STANDARD.encode(mac))))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Vendor {
    /// Where Tether listens (its `TETHER_PUBLIC_URL`), for the calls below.
    pub fn set_tether_url(&self, url: &str) {
        self.knobs(|k| k.tether_url = Some(url.trim_end_matches('/').to_owned()));
    }

    /// Tells Tether `action` (`resources.status`, …) with `body`, the `action` field added; the
    /// status and body Tether answered. Retried with the same `webhook-id` while Tether answers
    /// 5xx or cannot be reached.
    pub async fn tell_tether(&self, action: &str, mut body: Value) -> Result<(u16, Value), String> {
        let base = self.knobs(|k| k.tether_url.clone()).ok_or("no Tether URL is configured")?;
        body["action"] = json!(action);
        let bytes = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        let url = format!("{base}/provider/v1/{}", action.replace('.', "/"));
        let id = random("msg_", 16);
        let client =
            reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).build().map_err(|e| e.to_string())?;
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            let timestamp = crate::vendor::now_ms() / 1_000;
            let sent = client
                .post(&url)
                .header(header::CONTENT_TYPE, "application/json")
                .header("webhook-id", &id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signatures(&self.0.keys, &id, timestamp, &bytes))
                .body(bytes.clone())
                .send()
                .await;
            match sent {
                Ok(answer) if !answer.status().is_server_error() => {
                    let status = answer.status().as_u16();
                    let body = answer.json::<Value>().await.unwrap_or(Value::Null);
                    return Ok((status, body));
                }
                Ok(answer) => last = format!("Tether answered {}", answer.status()),
                Err(error) => last = error.to_string(),
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt))).await;
            }
        }
        Err(last)
    }
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Reference DB</title><link rel="icon" href="data:,"></head>
<body><main><h1>{}</h1>{body}</main></body></html>"#,
        escape(title)
    ))
}

/// An admin's buttons for one database.
pub(crate) fn console_forms(id: &str) -> String {
    format!(
        r#"<form method="post" action="/console/databases/{id}/suspend"><button>Suspend this database</button></form>
<form method="post" action="/console/databases/{id}/reset"><button>Reset its API key</button></form>"#,
        id = escape(id)
    )
}

/// The signed-in admin's session, from the cookie the sign-in set.
fn admin_session(vendor: &Vendor, headers: &HeaderMap) -> Option<Session> {
    let cookies = headers.get(header::COOKIE).and_then(|v| v.to_str().ok())?;
    let id = cookies.split(';').filter_map(|c| c.trim().strip_prefix("refdb_session=")).next()?;
    vendor.knobs(|k| k.sessions.get(id).cloned()).filter(|session| session.admin)
}

/// `POST /console/databases/{id}/{suspend|reset}`: the vendor's own buttons, which change the
/// database here and tell Tether so Vercel shows it.
pub(crate) async fn console_action(
    State(vendor): State<Vendor>,
    headers: HeaderMap,
    Path((id, what)): Path<(String, String)>,
) -> Response {
    let Some(session) = admin_session(&vendor, &headers) else {
        return (StatusCode::FORBIDDEN, page("Not allowed", "<p>Sign in from Vercel as an admin first.</p>"))
            .into_response();
    };
    if vendor.resource_name(&session.account, &id).await.is_none() {
        return (StatusCode::NOT_FOUND, page("No such database", "<p>This account has no such database.</p>"))
            .into_response();
    }
    let common = json!({"account": session.account, "installation_id": session.installation_id, "resource_id": id});
    let told = match what.as_str() {
        "suspend" => {
            // Back to this database's page, through Vercel's sign-in: `sso:` before the link.
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1");
            let mut body = common;
            body["status"] = json!("suspended");
            body["notification"] = json!({
                "level": "warn",
                "title": "Suspended: over the plan's storage",
                "message": "Writes are paused until the plan is upgraded.",
                "href": format!("sso:http://{host}/link"),
            });
            vendor.tell_tether("resources.status", body).await
        }
        "reset" => match vendor.reset_key(&session.account, &id).await {
            Ok(()) => vendor.tell_tether("resources.secrets", common).await,
            Err(error) => Err(error),
        },
        _ => return (StatusCode::NOT_FOUND, page("No such action", "")).into_response(),
    };
    let said = match told {
        Ok((202, _)) => "Tether took it: Vercel will show it shortly.".to_owned(),
        Ok((status, body)) => format!("Tether refused it ({status}): {body}"),
        Err(error) => format!("Tether could not be reached: {error}"),
    };
    let body = format!(r#"<p data-testid="told">{}</p>{}"#, escape(&said), console_forms(&id));
    page("Reference DB", &body).into_response()
}
