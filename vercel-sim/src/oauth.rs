//! The code exchange: single-use, 30-minute codes bound to one installation and Redirect URL.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
    Form, Json, Router,
};
use serde::Deserialize;
use serde_json::json;

use crate::state::{random_id, Sim, CODE_LIFETIME};

pub fn routes() -> Router<Sim> {
    Router::new().route("/v2/oauth/access_token", post(exchange))
}

#[derive(Deserialize)]
struct ExchangeForm {
    client_id: Option<String>,
    client_secret: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
}

/// A refusal in OAuth's shape (RFC 6749 §5.2), as Vercel's token endpoints answer.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, Json(json!({"error": error, "error_description": description}))).into_response()
}

fn invalid_grant() -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Invalid grant: authorization code is invalid")
}

async fn exchange(State(sim): State<Sim>, Form(form): Form<ExchangeForm>) -> Response {
    let config = sim.config.clone();
    let mut inner = sim.lock();
    inner.exchanges += 1;
    if form.client_id.as_deref() != Some(config.client_id.as_str())
        || form.client_secret.as_deref() != Some(config.client_secret.as_str())
    {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Invalid client credentials");
    }
    if form.redirect_uri.as_deref() != Some(config.redirect_url.as_str()) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The redirect_uri does not match the Redirect URL registered for this integration",
        );
    }
    let Some(code) = form.code.and_then(|c| inner.codes.get_mut(&c)) else {
        return invalid_grant();
    };
    let expired = code.issued.elapsed().map(|age| age > CODE_LIFETIME).unwrap_or(true);
    if code.used || expired {
        return invalid_grant();
    }
    code.used = true;
    let configuration_id = code.configuration_id.clone();
    let Some(installation) = inner.installations.iter().find(|i| i.id == configuration_id).cloned() else {
        return invalid_grant();
    };
    let token = random_id("sim_tok_", 40);
    inner.tokens.insert(token.clone(), configuration_id.clone());
    let team_id = installation.team_id.filter(|_| !inner.quirks.token_omits_team);
    // Fields beyond the documented five stand for whatever Vercel adds next: a client must
    // ignore what it does not know.
    let mut answer = json!({
        "token_type": "Bearer",
        "access_token": token,
        "installation_id": configuration_id,
        "user_id": installation.user_id,
        "team_id": team_id,
        "scope": inner.scopes.join(" "),
        "issued_at": crate::state::now_ms() / 1000,
    });
    if inner.quirks.token_omits_installation {
        if let Some(fields) = answer.as_object_mut() {
            fields.remove("installation_id");
        }
    }
    Json(answer).into_response()
}
