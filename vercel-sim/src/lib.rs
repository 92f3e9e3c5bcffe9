//! A local stand-in for Vercel: the OAuth token endpoint, the REST subset Tether uses, and a
//! dashboard that opens Tether's Redirect URL in a popup the way Vercel does. Tests start it
//! in-process on port 0; `cargo xtask run` starts the binary beside Tether.
//!
//! It is strict by default: where Vercel's reference allows a stricter or a thinner answer, the
//! simulator gives it, so a green test means "works on Vercel", not "works on a kind double".
//! Tests relax or vary it with [`Sim::set_quirks`], [`Sim::set_scopes`], [`Sim::fail_next`],
//! [`Sim::answer_next`] and [`Sim::stall_next`].
//!
//! | endpoint | what it checks | what it answers | source |
//! |---|---|---|---|
//! | every REST call | `Authorization: Bearer`; a missing token, an unknown one or one of a removed installation | 401 `{"error":{"code":"forbidden","message",missingToken\|invalidToken:true}}` | REST API reference, errors; issue 7 |
//! | every REST call | the installation is not disabled: [`Sim::leave_team`] disables those its installer made there (dashboard: `POST /sim/api/teams/{id}/leave`), and no event is sent | 403 `integration_configuration_disabled` | protocol.md §3 |
//! | every REST call | `teamId` equals the installation's team (absent for a personal one) | 403 `forbidden` | protocol.md §3 ("without it: 403") |
//! | every REST call | the integration's scopes cover the endpoint (below) | 403 `forbidden`, "Not authorized", naming no scope | Integration permissions docs; protocol.md §6 |
//! | every REST call | – | `X-RateLimit-Limit`, `-Remaining`, `-Reset` (epoch seconds) | REST API reference, rate limits |
//! | `POST /v2/oauth/access_token` | form `client_id` + `client_secret` | 401 OAuth `invalid_client` | OAuth 2.0 (RFC 6749 §5.2) |
//! | same | `redirect_uri` equals the registered Redirect URL | 400 OAuth `invalid_request`, "redirect_uri does not match" | RFC 6749 §4.1.3 |
//! | same | code known, unused, under 30 minutes old | 400 OAuth `invalid_grant`, "Invalid grant: authorization code is invalid" | protocol.md §2 |
//! | same | – | `{token_type, access_token, installation_id, user_id, team_id}` plus fields Tether does not know; quirk `token_omits_team` answers `team_id: null` for a team; quirk `token_omits_installation` leaves `installation_id` out | protocol.md §2 |
//! | `GET /v2/user` | scope `read:user` | `{user:{id,email,name,username,…}}` | REST API reference, user |
//! | `GET /v2/teams/{id}` | scope `read:team`; the id is the caller's team | `{id,slug,name,avatar,description,creatorId,createdAt,updatedAt,stagingPrefix,membership:{uid,role,confirmed,createdAt}}` | REST API reference, "get a team" |
//! | `GET /v10/projects` | scope `read:project`; `limit` 1..=100 (400 otherwise) | 20 per page by default; continues with `from` = an opaque token, ignores `until`; a numeric `from` means "updated after" that timestamp, as the reference words it; `pagination.next` is an opaque string | REST API reference, "find projects" (`from`: "timestamp or continuation token") |
//! | `GET /v9/projects` | as above | continues with `until` (a timestamp), ignores `from`; `next` is a number | older clients of `/v9` |
//! | both, quirk `paging` | `UntilOnly`: `/v10` ignores `from` and answers numeric cursors; `IgnoresCursor`: every cursor ignored | the first page again | the "cursor had no effect" case in issue 7 |
//! | `GET /v9/projects/{idOrName}` | scope `read:project`; the project is the caller's | the project, 404 `not_found` | REST API reference |
//! | every project call (`/v9/projects/{id}`, its env) | an installation given only some projects (the install dialog's "choose projects" step: `GET /integrations/tether/choose`, or [`Begin::projects`]) may touch only those | 403 `forbidden`; `/v10/projects` lists only those, unless quirk `lists_unselected_projects` lists them all | Integration permissions docs (project access); issue 22 |
//! | `POST /v10/projects/{id}/env?upsert=true` | scope `read-write:project-env-vars`; at most 120 writes per 60 s per account (429 with reset); the body's schema first: a `comment` that is not a string of at most 500 characters refuses the whole request (400 `bad_request`), and a valid one is stored and shown on the dashboard; each item: key `[A-Za-z_][A-Za-z0-9_]*` ≤ 256, value ≤ 64 KiB, type, target (array or string), `sensitive` never on development; an existing key with overlapping targets | 201 `{created: object\|array, failed:[{error:{code,message,key}}]}`; a clash not replaceable by upsert is `ENV_ALREADY_EXISTS` in `failed`, with the existing variable's `envVarId`; quirk `env_answers_without_ids`: no `created[].id`, single targets as strings, one created item as an object; quirk `env_write_latency` (`SIM_ENV_WRITE_LATENCY_MS`) answers each write that much later | REST API reference, "create one or more environment variables"; protocol.md §3 |
//! | `GET /v10/projects/{id}/env` (and `/v9`) | scope `read:project-env-vars` | `{envs:[…], pagination}` newest first, [`ENV_PAGE`] per page, `next` the last one's `createdAt`, continued with `until` (`from` is ignored: the reference names no cursor), or `{}` when there are none | REST API reference, "retrieve the environment variables of a project"; SDK schema `FilterProjectEnvsResponseBody` 1–3 |
//! | `DELETE /v9/projects/{id}/env/{envId}` | scope `read-write:project-env-vars` | the removed variable, 404 `not_found` | REST API reference |
//! | `GET /v1/integrations/configuration/{id}` | scope `read:integration-configuration`; the caller's own id | `{id,teamId,userId,status,projectSelection,projects,scopes,…}`: `all` and `[]`, or `selected` and the ids (quirk `projects_as_objects`: `{id}` objects, here and in `permission-upgraded`) | REST API reference |
//! | `DELETE /v1/integrations/configuration/{id}` | scope `read-write:integration-configuration`; the caller's own id | 204; the installation's env vars go; then the signed `integration-configuration.removed` webhook | REST API reference; protocol.md §3, "shapes" |
//! | webhooks | – | `POST` to the Webhook URL, `x-vercel-signature` = hex HMAC-SHA1 of the body under the client secret; non-2xx retried with backoff | protocol.md §4 |
//! | installation events | – | `integration-configuration.transferred` (`configuration.id`, `previousTeamId`, `newTeamId`) from [`Sim::transfer`], after which the token acts in the new team; `integration-configuration.scope-change-confirmed` (`configuration.scopes`) from [`Sim::confirm_scopes`]; a transfer to another member of the same team ([`Sim::transfer_to_member`]: `previousTeamId` = `newTeamId`) enables a disabled installation; dashboard: `POST /sim/api/installations/{id}/transfer`, `/transfer-to-member` and `/scopes` | protocol.md §4 |
//! | project access | – | [`Sim::set_project_access`] (dashboard: `POST /sim/api/installations/{id}/projects`) sends `integration-configuration.permission-upgraded` with `configuration.{projectSelection,projects}` and `projects.{added,removed}` | native-protocol.md, webhooks table |
//! | project events | – | `project.{id,name}`, `user.id` always (a team's installer for a team's project), `team.id` for a team's; `project.renamed` adds `previousName` and is sent by [`Sim::rename_project`] (dashboard: `POST /sim/api/projects/{id}/rename`) | native-protocol.md, webhooks table and gap 1 |
//!
//! The Marketplace's OIDC issuer (JWKS, discovery, signed user and system tokens, key rotation,
//! an outage of the JWKS endpoint) has its own table in the `oidc` module, and the Marketplace's
//! calls to the integration's Partner API (install, plans, provision, connect, rotate, delete,
//! uninstall, and their faults) theirs in the `marketplace` module, and single sign-on into the
//! integration (the Redirect Login URL, the code exchange and its faults) its own in `sso`, and
//! the API the integration calls with its native token (account, members) in `market_api`.
//!
//! Accounts: Alice (personal; one project has the legacy id [`LEGACY_PROJECT_ID`]), Acme
//! Robotics (a team with [`TEAM_PROJECTS`] projects) and Bob's projects (a Hobby team: a
//! personal scope that the API treats as a team, so its callback carries `teamId`).

mod api;
mod dashboard;
mod market_api;
mod market_pages;
mod market_records;
pub mod marketplace;
mod oauth;
pub mod oidc;
pub mod sso;
pub mod state;
pub mod webhooks;

use std::{net::SocketAddr, sync::Arc};

use axum::Router;
use tokio::net::TcpListener;

pub use api::ENV_PAGE;
pub use state::{
    Account, Begin, CallRecord, Canned, Delivery, EnvVar, Fault, Installation, Paging, Project, Quirks, Sim, Snapshot,
    DEFAULT_SCOPES,
};

/// The simulator's seeded accounts, so a sandboxed Tether can seed matching vendor resources.
pub const PERSONAL_USER_ID: &str = "user_sim_alice";
pub const TEAM_ID: &str = "team_sim_acme";
pub const TEAM_PROJECTS: usize = 250;
/// A Hobby team: a personal scope that the API treats as a team, and who installs in it.
pub const HOBBY_TEAM_ID: &str = "team_sim_bob";
pub const HOBBY_USER_ID: &str = "user_sim_bob";
/// An id in the shape of Vercel's older projects (from Vercel's own docs), in Alice's account.
pub const LEGACY_PROJECT_ID: &str = "QmXGTs7mvAMMC7WW5ebrM33qKG32QK3h4vmQ";
pub const PERSONAL_PROJECTS: usize = 3;
pub const DEFAULT_CLIENT_ID: &str = "oac_sim_tether";
pub const DEFAULT_CLIENT_SECRET: &str = "sim-client-secret-not-for-production";

#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Tether's Redirect URL, exactly as registered (the exchange must repeat it).
    pub redirect_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// Where the simulator itself is reachable; `next` points here.
    pub public_url: String,
    /// The integration's Webhook URL; without one, events are recorded but not sent.
    pub webhook_url: Option<String>,
    /// The integration's Base URL, where its Partner API (native integrations) answers.
    pub base_url: Option<String>,
    /// The products of the integration, as its console lists them: the Marketplace's create
    /// form is built from their metadata schemas.
    pub products: Vec<SimProduct>,
    /// The integration's Redirect Login URL, where "Open in {vendor}" sends the browser for
    /// single sign-on (native integrations).
    pub login_url: Option<String>,
}

/// A product of a native integration, as Vercel's console holds it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimProduct {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub metadata_schema: Option<serde_json::Value>,
}

impl SimProduct {
    /// The product a Tether integration has without `[[native.products]]`.
    pub fn default_product() -> Self {
        Self { slug: "tether".into(), name: "Tether".into(), metadata_schema: None }
    }
}

impl SimConfig {
    pub fn new(public_url: impl Into<String>, redirect_url: impl Into<String>) -> Self {
        Self {
            redirect_url: redirect_url.into(),
            client_id: DEFAULT_CLIENT_ID.into(),
            client_secret: DEFAULT_CLIENT_SECRET.into(),
            public_url: public_url.into(),
            webhook_url: None,
            base_url: None,
            products: vec![SimProduct::default_product()],
            login_url: None,
        }
    }
}

pub fn router(sim: Sim) -> Router {
    Router::new()
        .merge(dashboard::routes())
        .merge(market_pages::routes())
        // What a native installation calls back with its own token, recorded like the rest.
        .merge(api::routes(sim.clone(), market_api::routes()))
        .merge(oidc::routes())
        .merge(sso::routes())
        .with_state(sim)
}

/// A simulator serving on its own task; dropping the handle leaves it running until the runtime ends.
pub struct SimHandle {
    pub addr: SocketAddr,
    pub sim: Sim,
}

impl SimHandle {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Serve on an already bound listener (bind first on port 0 to learn the address for the config).
pub async fn serve(listener: TcpListener, config: SimConfig) -> anyhow::Result<SimHandle> {
    let addr = listener.local_addr()?;
    let sim = Sim::new(Arc::new(config));
    let app = router(sim.clone());
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "simulator stopped");
        }
    });
    Ok(SimHandle { addr, sim })
}
