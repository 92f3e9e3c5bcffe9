//! Account linking, when the vendor configures a sign-in page: the popup sends the user there
//! with a signed, single-use, ten-minute ticket bound to this installation and this browser's
//! session; the vendor signs the user in and sends them back with its account id and a signature
//! over ticket and account. Tether then calls the provider with that account for this
//! installation. `docs/provider-contract.yaml` tells vendors their side.

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use rand::RngCore;
use serde::Deserialize;

use crate::{
    signing,
    state::AppState,
    store::now_ms,
    web::{self, Failure},
};

/// How long a ticket is good for: enough to sign in, too short to be worth stealing.
pub const TICKET_LIFETIME_MS: i64 = 10 * 60 * 1000;
/// How much of the session hash a ticket carries: enough to bind it to this browser.
const SESSION_TAG_LEN: usize = 16;

/// Where the vendor sends the user back.
pub const RETURN_PATH: &str = "/install/account";

/// The vendor account id as the contract allows it.
fn valid_account(account: &str) -> bool {
    (1..=128).contains(&account.len()) && account.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.:@-".contains(&b))
}

/// `GET /install/{configurationId}/account`: off to the vendor's sign-in page with a ticket.
pub async fn begin(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(configuration_id): Path<String>,
) -> Response {
    let Some(link_url) = state.settings.provider.account_link_url.as_deref() else {
        return web::not_found(State(state.clone())).await;
    };
    let caller = web::Caller::of(&headers, state.settings.secure_cookies());
    let (Ok(authorized), Some(session)) = (state.authorize(&caller, &configuration_id).await, caller.session_hash())
    else {
        let why = "this browser is not signed in for that installation; open the integration again from Vercel";
        return refused(&state, why, None).await;
    };
    let mut nonce = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut nonce);
    let payload = format!(
        "{}.{}.{}.{}",
        authorized.id(),
        hex::encode(nonce),
        now_ms() + TICKET_LIFETIME_MS,
        &session[..SESSION_TAG_LEN.min(session.len())]
    );
    let ticket =
        format!("{payload}.{}", signing::sign_content(&state.settings.provider_keys, &format!("ticket.{payload}")));
    let Ok(mut target) = url::Url::parse(link_url) else {
        return refused(&state, "the integration's sign-in page is misconfigured", Some(authorized.id().as_str()))
            .await;
    };
    let return_to = format!("{}{RETURN_PATH}", state.settings.public_url.as_str().trim_end_matches('/'));
    target.query_pairs_mut().append_pair("ticket", &ticket).append_pair("return_to", &return_to);
    (StatusCode::SEE_OTHER, [(header::LOCATION, target.to_string())]).into_response()
}

#[derive(Deserialize)]
pub struct Assertion {
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    signature: String,
}

/// `GET /install/account?ticket=…&account=…&signature=…`: the vendor's answer.
pub async fn finish(State(state): State<AppState>, headers: HeaderMap, Query(assertion): Query<Assertion>) -> Response {
    match accept(&state, &headers, &assertion).await {
        Ok(configuration_id) => {
            (StatusCode::SEE_OTHER, [(header::LOCATION, format!("/install/{configuration_id}"))]).into_response()
        }
        Err((why, configuration_id)) => {
            tracing::warn!(security_event = "account_link_refused", why, "an account-linking answer was refused");
            refused(&state, why, configuration_id.as_deref()).await
        }
    }
}

type Refusal = (&'static str, Option<String>);

async fn accept(state: &AppState, headers: &HeaderMap, assertion: &Assertion) -> Result<String, Refusal> {
    let keys = &state.settings.provider_keys;
    let (payload, ticket_signature) = assertion.ticket.rsplit_once('.').ok_or(("the ticket is malformed", None))?;
    if !signing::verify_content(keys, &format!("ticket.{payload}"), ticket_signature) {
        return Err(("the ticket was not issued here", None));
    }
    let parts: Vec<&str> = payload.split('.').collect();
    let [configuration_id, nonce, expires, tag] = parts[..] else { return Err(("the ticket is malformed", None)) };
    let configuration_id = configuration_id.to_owned();
    let here = Some(configuration_id.clone());
    if expires.parse::<i64>().map_or(true, |at| at < now_ms()) {
        return Err(("the sign-in took longer than ten minutes", here));
    }
    let caller = web::Caller::of(headers, state.settings.secure_cookies());
    if !caller.session_hash().unwrap_or_default().starts_with(tag) || tag.len() != SESSION_TAG_LEN {
        return Err(("the sign-in was started in another browser", here));
    }
    let authorized = state
        .authorize(&caller, &configuration_id)
        .await
        .map_err(|_| ("this browser is not signed in for that installation", here.clone()))?;
    if !valid_account(&assertion.account) {
        return Err(("the vendor's account id is not one Tether accepts", here));
    }
    let content = format!("{}.{}", assertion.ticket, assertion.account);
    if !signing::verify_content(keys, &content, &assertion.signature) {
        return Err(("the vendor's answer is not signed with the integration's secret", here));
    }
    // The user gets a retry; the operator gets the cause.
    let unrecorded = |error: crate::store::StoreError| {
        tracing::error!(%error, "a vendor sign-in could not be recorded");
        ("Tether could not record the sign-in; try again", here.clone())
    };
    let ticket = crate::install::start::state_digest(&format!("ticket:{nonce}"));
    if !authorized.link_vendor_account(&ticket, &assertion.account).await.map_err(unrecorded)? {
        return Err(("this sign-in was used already", here));
    }
    tracing::info!(configuration_id = %authorized.id(), "vendor account linked");
    Ok(configuration_id)
}

async fn refused(state: &AppState, why: &str, configuration_id: Option<&str>) -> Response {
    let again = configuration_id.map(|id| format!("/install/{id}/account"));
    web::failure(state, &Failure::SignInFailed { why: why.to_owned(), again }, None, None).await
}
