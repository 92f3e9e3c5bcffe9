//! Single sign-on from Vercel (native integrations). "Open in …" on Vercel's dashboard sends the
//! browser to the integration's Redirect Login URL, `/sso`, with `mode=sso`, a single-use
//! `code`, Vercel's `state` and where the user was (`resource_id`, `project_id`, `path`, `url`).
//! Tether exchanges the code at Vercel, verifies the `id_token` it answers (Vercel's issuer, this
//! integration's audience, unexpired, of type `id_token`: never a Partner API bearer), never keeps
//! it, and opens a session bound to the installation and the user the token names, with the role
//! Vercel gave that user. Which installation and user come from the token alone.
//!
//! The user lands on the installation's page (`/native/{id}`): its resources, where Vercel
//! connected them, and the user's role.

use app::{
    model::{NativeResourceView, NativeView},
    pages::Page,
};
use axum::{
    extract::{Path, Query, RawQuery, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::{
    params::{ConfigurationId, ParamError, SsoParams},
    provider::ticket::{self, SsoTicket},
    state::AppState,
    store::sso::{NewSsoSession, SsoSessionRow},
    vercel::{
        oidc::{Role, TokenType},
        VercelError,
    },
    web::{self, Failure, SsoRefusal},
};

/// The Redirect Login URL's path, for the Integration Console.
pub const LOGIN_PATH: &str = "/sso";

/// The page a signed-in user lands on.
pub fn page_path(configuration_id: &ConfigurationId) -> String {
    format!("/native/{configuration_id}")
}

/// `GET /sso`: Vercel's single sign-on.
pub async fn sign_in(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    match accept(&state, &query.unwrap_or_default()).await {
        Ok(Landing { session_id, to }) => {
            let cookie = web::session_cookie(state.settings.secure_cookies(), &session_id);
            (StatusCode::SEE_OTHER, [(header::LOCATION, to), (header::SET_COOKIE, cookie)]).into_response()
        }
        Err(failure) => web::failure(&state, &failure, None, None).await,
    }
}

/// A signed-in session, and where its browser goes.
struct Landing {
    session_id: String,
    to: String,
}

async fn accept(state: &AppState, query: &str) -> Result<Landing, Failure> {
    let vendor_page = vendor_sign_in_page(state);
    let site = vendor_page.clone().unwrap_or_else(|| state.settings.public_url.clone());
    let params = SsoParams::parse(query, &site).map_err(|error| {
        tracing::info!(%error, "single sign-on refused");
        match error {
            ParamError::ForeignUrl => {
                tracing::warn!(security_event = "sso_foreign_url", "a sign-in link asked for a page off this site");
                Failure::Sso(SsoRefusal::ForeignUrl)
            }
            error => Failure::InvalidLink { detail: error.to_string() },
        }
    })?;
    let id_token =
        state.vercel.exchange_sso_code(&params.code, params.state.as_deref()).await.map_err(|error| match error {
            VercelError::InvalidGrant => Failure::Sso(SsoRefusal::CodeRefused),
            VercelError::InvalidClient => {
                tracing::error!(
                    "Vercel refused the client id or secret in an SSO exchange: check TETHER_VERCEL_CLIENT_ID and \
                     TETHER_VERCEL_CLIENT_SECRET"
                );
                Failure::InvalidClient
            }
            VercelError::Api { status, .. } if status < 500 => {
                tracing::info!(%error, "Vercel refused an SSO code");
                Failure::Sso(SsoRefusal::CodeRefused)
            }
            error => {
                tracing::warn!(%error, "the SSO code exchange failed");
                Failure::Sso(SsoRefusal::Unanswered)
            }
        })?;
    let unverified = |why: &str| {
        tracing::warn!(security_event = "sso_token_refused", why, "an SSO id_token was refused");
        Failure::Sso(SsoRefusal::Unverified)
    };
    let claims = state
        .partner_tokens
        .verify(id_token.expose(), TokenType::Id)
        .await
        .map_err(|error| unverified(&error.to_string()))?;
    let installation = claims.installation_id.as_deref().map(ConfigurationId::parse);
    let (Some(Ok(installation)), Some((user_id, role))) = (installation, claims.user()) else {
        return Err(unverified("the token names no installation or no user"));
    };
    let (session_id, hash) = web::new_session_id();
    let back_url = state.settings.vercel.dashboard_url.as_str();
    let session = NewSsoSession {
        id_hash: &hash,
        configuration_id: &installation,
        user_id,
        role: role.as_str(),
        back_url,
        lifetime_ms: web::SESSION_LIFETIME_MS,
    };
    if !state.store.open_sso_session(session).await.map_err(|_| Failure::StoreDown)? {
        tracing::info!(configuration_id = installation.as_str(), "SSO for an installation that is not here");
        return Err(Failure::Sso(SsoRefusal::NotInstalled));
    }
    tracing::info!(configuration_id = installation.as_str(), ?role, "signed in from Vercel");
    let to = match &vendor_page {
        Some(link) => vendor_landing(state, link, &installation, user_id, role, &params).await?,
        None => own_landing(&installation, &params),
    };
    Ok(Landing { session_id, to })
}

/// The vendor's sign-in page, when it has one: a sign-in lands there, and Vercel's `url` may
/// lead only to its site; else both are Tether's.
fn vendor_sign_in_page(state: &AppState) -> Option<url::Url> {
    state.settings.provider.account_link_url.as_deref().and_then(|link| url::Url::parse(link).ok())
}

/// Tether's page of the installation, at the resource and part Vercel's link asked for.
fn own_landing(installation: &ConfigurationId, params: &SsoParams) -> String {
    if let Some(url) = &params.url {
        return url.as_str().to_owned();
    }
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(resource) = &params.resource_id {
        query.append_pair("resource", resource);
    }
    if let Some(path) = params.path {
        query.append_pair("path", path.as_str());
    }
    let query = query.finish();
    let page = page_path(installation);
    if query.is_empty() {
        page
    } else {
        format!("{page}?{query}")
    }
}

/// The vendor's sign-in page, with a ticket saying who Vercel signed in.
async fn vendor_landing(
    state: &AppState,
    link: &url::Url,
    installation: &ConfigurationId,
    user_id: &str,
    role: Role,
    params: &SsoParams,
) -> Result<String, Failure> {
    let store_down = |_| Failure::StoreDown;
    let row = state.store.native_installation(installation).await.map_err(store_down)?;
    let row = row.ok_or(Failure::Sso(SsoRefusal::NotInstalled))?;
    let resource = match &params.resource_id {
        Some(id) => state.store.native_resource(installation, id).await.map_err(store_down)?.and_then(|r| r.vendor_id),
        None => None,
    };
    let ticket = SsoTicket {
        installation_id: installation.as_str(),
        account: row.owner_id(),
        user_id,
        role: role.as_str(),
        resource_id: resource.as_deref(),
        project_id: params.project_id.as_ref().map(|p| p.as_str()),
        path: params.path.map(|p| p.as_str()),
        url: params.url.as_ref().map(|u| u.as_str()),
        nonce: SsoTicket::new_nonce(),
        expires_at: crate::store::now_ms() + ticket::LIFETIME_MS,
    };
    Ok(ticket.link(link, &state.settings.provider_keys).to_string())
}

#[derive(Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    resource: String,
    #[serde(default)]
    path: String,
    /// What an action on the page did (`rotating`, `deleting`).
    #[serde(default)]
    notice: String,
}

/// Notices come from a fixed list: the query string never reaches the page as text.
fn notice(path: &str, done: &str) -> Option<&'static str> {
    match done {
        "rotating" => {
            return Some(
                "New secrets are on their way to Vercel, which writes them into every connected project; the old \
                 ones stop working once Vercel has them.",
            )
        }
        "deleting" => {
            return Some(
                "The resource is being removed from Vercel, with its secrets from every connected project; then \
                 the service releases it.",
            )
        }
        "confirm" => return Some("Tick the box to confirm the deletion: nothing was deleted."),
        _ => {}
    }
    Some(match path {
        "billing" | "usage" => "This service does not bill through Vercel: there is no invoice or usage to show.",
        "secrets" => "Vercel keeps each resource's secrets and writes them into the projects it is connected to.",
        "support" => "For help, contact the service's team; the resource's id is shown beside its name.",
        _ => return None,
    })
}

/// `GET /native/{id}`: the installation's resources, for a user signed in from Vercel.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(configuration_id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let signed_in = match signed_in(&state, &headers, &configuration_id).await {
        Ok(found) => found,
        Err(failure) => return web::failure(&state, &failure, None, None).await,
    };
    let Some((installation, session)) = signed_in else {
        // The same answer for an unknown id and another's: Vercel decides who may sign in.
        let failure = match ConfigurationId::parse(&configuration_id) {
            Ok(id) => Failure::SignInThroughVercel { link: sign_in_link(&state, &id, &query.resource) },
            Err(_) => Failure::NotYours { configure: false },
        };
        return web::failure(&state, &failure, None, None).await;
    };
    let form_token = web::form_token_of(&headers, state.settings.secure_cookies());
    match view(&state, &installation, &session, &query, form_token).await {
        Ok(view) => web::render(&state, StatusCode::OK, Page::Native(view)).await,
        Err(failure) => {
            let retry = page_path(&installation);
            web::failure(&state, &failure, None, Some(retry)).await
        }
    }
}

/// Provider-initiated single sign-on: Vercel's `/sso/integrations/{slug}/{id}`, which checks the
/// user may use the installation and sends them to `/sso` with a code; the resource rides along.
pub fn sign_in_link(state: &AppState, installation: &ConfigurationId, resource: &str) -> String {
    let mut link = state.settings.vercel.dashboard_url.clone();
    let slug = &state.settings.vercel.integration_slug;
    link.set_path(&format!("/sso/integrations/{slug}/{installation}"));
    if crate::params::id_like_resource(resource) {
        link.query_pairs_mut().append_pair("resource_id", resource);
    }
    link.to_string()
}

/// The installation and the session this browser holds for it, if any.
pub(crate) async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    configuration_id: &str,
) -> Result<Option<(ConfigurationId, SsoSessionRow)>, Failure> {
    let (Ok(installation), Some(hash)) =
        (ConfigurationId::parse(configuration_id), web::session_hash(headers, state.settings.secure_cookies()))
    else {
        return Ok(None);
    };
    let session = state.store.sso_session(&hash, &installation).await.map_err(|_| Failure::StoreDown)?;
    Ok(session.map(|session| (installation, session)))
}

async fn view(
    state: &AppState,
    installation: &ConfigurationId,
    session: &SsoSessionRow,
    query: &PageQuery,
    form_token: String,
) -> Result<NativeView, Failure> {
    let store_down = |_| Failure::StoreDown;
    let row = state.store.native_installation(installation).await.map_err(store_down)?;
    let row = row.ok_or(Failure::NotYours { configure: false })?;
    let account: serde_json::Value = serde_json::from_str(&row.account).unwrap_or_default();
    let team_name = account["name"].as_str().map(str::to_owned).unwrap_or_else(|| row.owner_id().to_owned());
    let resources = state.store.native_resources_of(installation).await.map_err(store_down)?;
    let connections = state.store.native_connections(installation).await.map_err(store_down)?;
    let products = &state.settings.products;
    let mut views: Vec<NativeResourceView> = resources
        .into_iter()
        .map(|resource| {
            let product = products.iter().find(|p| p.slug == resource.product_id);
            let plan = product.and_then(|p| p.plans.iter().find(|plan| plan.id == resource.billing_plan_id));
            let projects = connections
                .iter()
                .filter(|c| c.resource_id == resource.id)
                .map(|c| c.project_name.clone().unwrap_or_else(|| c.project_id.clone()))
                .collect();
            NativeResourceView {
                focused: resource.id == query.resource,
                product: product.map_or_else(|| resource.product_id.clone(), |p| p.name.clone()),
                plan: plan.map_or_else(|| resource.billing_plan_id.clone(), |p| p.name.clone()),
                status: super::resources::vercel_status(&resource).to_owned(),
                projects,
                id: resource.id,
                name: resource.name,
            }
        })
        .collect();
    // The resource Vercel's link was about comes first.
    views.sort_by_key(|view| !view.focused);
    Ok(NativeView {
        configuration_id: installation.as_str().to_owned(),
        form_token,
        vendor_name: state.provider.name().to_owned(),
        team_name,
        read_only: !session.is_admin(),
        resources: views,
        notice: notice(&query.path, &query.notice).map(str::to_owned),
        back_url: session.next_url.clone(),
    })
}
