//! Single sign-on into a native integration, as Vercel does it: "Open in {vendor}" on the
//! dashboard sends the browser to the integration's Redirect Login URL with `mode=sso`, a
//! single-use `code`, a `state` and where the user was; the integration exchanges the code at
//! `POST /v1/integrations/sso/token` for an `id_token` signed by the Marketplace's issuer.
//!
//! | endpoint | what it checks | what it answers | source |
//! |---|---|---|---|
//! | `GET /sim/market/open` (`installation`, `resource?`, `project?`, `path?`, `url?`, `role?`) | an active native installation | 303 to the Redirect Login URL with `mode=sso`, `code`, `state`, and `resource_id`, `project_id`, `path`, `url` as given | native-protocol.md 1.5 |
//! | `GET /sso/integrations/{slug}/{installationId}` (`resource_id?`, `project_id?`, `path?`, `url?`) | an active native installation; the simulator's user is its installer | as "Open in": 303 to the Redirect Login URL with a fresh code and the context given | native-protocol.md 1.5, provider-initiated |
//! | `POST /v1/integrations/sso/token` | a JSON or a form body; `client_id` and `client_secret` the integration's | 403 `{error: "invalid_client"}` | same; the reference answers 400, 403 or 500 |
//! | same | `code` known, unused, under [`SSO_CODE_LIFETIME`] old, issued to this client | 400 `{error: "invalid_grant"}` | same |
//! | same | – | `{id_token, access_token: null, token_type: null, expires_in}`; the `id_token` carries a user token's claims with `type: "id_token"` | same; the reference's answer schema |
//! | faults ([`SsoFault`], for the next code) | `expired`, `wrong_audience`, `unknown_key`: the `id_token` is expired, for another integration, or signed by a key the JWKS lacks; `access_token_type`: it says `type: "access_token"`; `another_client`: the code was issued to another integration | | native-protocol.md 1.2, 1.5 |

use std::{collections::HashMap, time::Duration};

use axum::{
    body::Bytes,
    extract::{Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

pub use crate::market_records::SsoFault;
use crate::{
    market_records::SsoCode,
    oauth::oauth_error,
    state::{now_ms, random_id, Sim},
};

/// How long an SSO code may wait for its exchange.
pub const SSO_CODE_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// Where the user was when they pressed "Open in {vendor}".
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SsoContext {
    pub resource: Option<String>,
    pub project: Option<String>,
    pub path: Option<String>,
    pub url: Option<String>,
}

pub fn routes() -> Router<Sim> {
    Router::new()
        .route("/sim/market/open", get(open))
        .route("/sso/integrations/{slug}/{installation_id}", get(provider_initiated))
        .route("/sim/api/market/sso-fault", post(set_fault))
        .route("/v1/integrations/sso/token", post(exchange))
}

impl Sim {
    /// The address "Open in {vendor}" sends a user of this installation to: the Redirect Login
    /// URL with a fresh code. `role` is `ADMIN` or `USER`, the user's role in the team.
    pub fn sso_link(
        &self,
        installation_id: &str,
        user_id: &str,
        role: &str,
        context: &SsoContext,
    ) -> Result<String, String> {
        let login_url = self.config.login_url.clone().ok_or("the simulator has no Redirect Login URL")?;
        let mut url = url::Url::parse(&login_url).map_err(|e| format!("the Redirect Login URL: {e}"))?;
        let code = random_id("sso_", 32);
        let state = random_id("st_", 16);
        {
            let mut inner = self.lock();
            let active = inner.market.installations.iter().any(|i| i.id == installation_id && i.status == "active");
            if !active {
                return Err("no such native installation".into());
            }
            let fault = inner.market.sso_fault.take();
            let client_id = match fault {
                Some(SsoFault::AnotherClient) => "oac_another_integration".to_owned(),
                _ => self.config.client_id.clone(),
            };
            let issued_ms = now_ms();
            let waiting = SsoCode {
                installation_id: installation_id.to_owned(),
                user_id: user_id.to_owned(),
                role: role.to_owned(),
                client_id,
                issued_ms,
                used: false,
                fault,
            };
            inner.market.sso_codes.insert(code.clone(), waiting);
        }
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("mode", "sso").append_pair("code", &code).append_pair("state", &state);
            let context = [
                ("resource_id", &context.resource),
                ("project_id", &context.project),
                ("path", &context.path),
                ("url", &context.url),
            ];
            for (name, value) in context {
                if let Some(value) = value {
                    query.append_pair(name, value);
                }
            }
        }
        Ok(url.to_string())
    }

    /// Sets a fault the next SSO code carries (the dashboard's SSO fault buttons).
    pub fn set_sso_fault(&self, fault: Option<SsoFault>) {
        self.lock().market.sso_fault = fault;
    }

    /// How many SSO exchanges were asked for, and how many answered an `id_token`.
    pub fn sso_exchanges(&self) -> (usize, usize) {
        let market = &self.lock().market;
        (market.sso_asked, market.sso_answered)
    }

    /// The `id_token` a code exchanges for, spoiled by the code's fault.
    fn id_token(&self, code: &SsoCode) -> String {
        let mut claims = self.user_claims(&code.installation_id, &code.user_id, &code.role);
        claims["type"] = json!("id_token");
        match code.fault {
            Some(SsoFault::Expired) => claims["exp"] = json!(now_ms() / 1000 - 3600),
            Some(SsoFault::WrongAudience) => claims["aud"] = json!("oac_another_integration"),
            Some(SsoFault::AccessTokenType) => claims["type"] = json!("access_token"),
            Some(SsoFault::UnknownKey) => {
                return self.oidc().mint_with_kid(&self.issuer_url(), claims, "sim-oidc-unknown");
            }
            _ => {}
        }
        self.oidc().mint(&self.issuer_url(), claims)
    }
}

#[derive(Deserialize)]
struct OpenQuery {
    installation: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(flatten)]
    context: SsoContext,
}

/// "Open in {vendor}": the installer, or a viewer with `role=USER`.
async fn open(State(sim): State<Sim>, Query(query): Query<OpenQuery>) -> Response {
    let installer = sim.native_installations().into_iter().find(|i| i.id == query.installation).map(|i| i.user_id);
    let Some(user) = installer else {
        return (StatusCode::NOT_FOUND, "no such native installation").into_response();
    };
    let role = match query.role.as_deref() {
        Some("USER") => "USER",
        _ => "ADMIN",
    };
    // A viewer is another member of the team than the installer.
    let user = if role == "USER" { format!("{user}_viewer") } else { user };
    match sim.sso_link(&query.installation, &user, role, &query.context) {
        Ok(link) => (StatusCode::SEE_OTHER, [(header::LOCATION, link)]).into_response(),
        Err(why) => (StatusCode::UNPROCESSABLE_ENTITY, why).into_response(),
    }
}

/// What an integration may add to its provider-initiated link, as Vercel passes it on.
#[derive(Deserialize)]
struct VendorContext {
    resource_id: Option<String>,
    project_id: Option<String>,
    path: Option<String>,
    url: Option<String>,
}

/// The integration sent the user here for a fresh sign-in: Vercel checks they may use the
/// installation (here: the installer, signed in to the simulator), then signs them in.
async fn provider_initiated(
    State(sim): State<Sim>,
    axum::extract::Path((_slug, installation)): axum::extract::Path<(String, String)>,
    Query(query): Query<VendorContext>,
) -> Response {
    let installer = sim
        .native_installations()
        .into_iter()
        .find(|i| i.id == installation && i.status == "active")
        .map(|i| i.user_id);
    let Some(user) = installer else {
        return (StatusCode::NOT_FOUND, "You have no access to this installation.").into_response();
    };
    let context =
        SsoContext { resource: query.resource_id, project: query.project_id, path: query.path, url: query.url };
    match sim.sso_link(&installation, &user, "ADMIN", &context) {
        Ok(link) => (StatusCode::SEE_OTHER, [(header::LOCATION, link)]).into_response(),
        Err(why) => (StatusCode::UNPROCESSABLE_ENTITY, why).into_response(),
    }
}

#[derive(Deserialize)]
struct FaultBody {
    fault: Option<SsoFault>,
}

async fn set_fault(State(sim): State<Sim>, Json(body): Json<FaultBody>) -> StatusCode {
    sim.set_sso_fault(body.fault);
    StatusCode::NO_CONTENT
}

/// The exchange takes JSON, as the reference's example sends, or a form with `grant_type`.
async fn exchange(State(sim): State<Sim>, headers: HeaderMap, body: Bytes) -> Response {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let fields: HashMap<String, String> = if json {
        let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let Some(object) = parsed.as_object() else {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "the body is not a JSON object");
        };
        object.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect()
    } else {
        url::form_urlencoded::parse(&body).into_owned().collect()
    };
    let field = |name: &str| fields.get(name).map(String::as_str);
    let mut inner = sim.lock();
    inner.market.sso_asked += 1;
    if field("client_id") != Some(sim.config.client_id.as_str())
        || field("client_secret") != Some(sim.config.client_secret.as_str())
    {
        return oauth_error(StatusCode::FORBIDDEN, "invalid_client", "Invalid client credentials");
    }
    if !json && field("grant_type") != Some("authorization_code") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "grant_type must be authorization_code");
    }
    let waiting = field("code").and_then(|code| inner.market.sso_codes.get_mut(code));
    let Some(waiting) = waiting else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "The code is invalid");
    };
    let expired = now_ms() - waiting.issued_ms > SSO_CODE_LIFETIME.as_millis() as i64;
    if waiting.used || expired || waiting.client_id != sim.config.client_id {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "The code is invalid");
    }
    waiting.used = true;
    let waiting = waiting.clone();
    inner.market.sso_answered += 1;
    drop(inner);
    let id_token = sim.id_token(&waiting);
    Json(json!({
        "id_token": id_token,
        "access_token": null,
        "token_type": null,
        "expires_in": crate::oidc::TOKEN_LIFETIME_SECS,
    }))
    .into_response()
}
