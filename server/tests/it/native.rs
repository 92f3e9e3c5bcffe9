//! Vercel's Marketplace tokens, verified against the simulator's OIDC issuer over real HTTP:
//! what a genuine token says, and every forgery refused.

use std::time::Duration;

use serde_json::json;
use server::vercel::oidc::{Role, TokenError, TokenType, Verifier, REFETCH_AFTER};
use tokio::net::TcpListener;
use vercel_sim::{SimConfig, SimHandle, DEFAULT_CLIENT_ID};

const INSTALLATION: &str = "icfg_native_1";

async fn issuer() -> SimHandle {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    vercel_sim::serve(listener, SimConfig::new(&url, format!("{url}/callback"))).await.unwrap()
}

fn verifier(sim: &SimHandle, refetch_after: Duration) -> Verifier {
    Verifier::new(&sim.sim.issuer_url(), DEFAULT_CLIENT_ID, reqwest::Client::new(), refetch_after).unwrap()
}

/// A token with the claims a user token has, changed by `change`.
fn forged(sim: &SimHandle, change: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut claims = json!({
        "aud": DEFAULT_CLIENT_ID, "type": "access_token", "account_id": "acc_1", "sub": "account:acc_1:user:u1",
        "installation_id": INSTALLATION, "user_id": "u1", "user_role": "ADMIN",
    });
    change(&mut claims);
    sim.sim.oidc().mint(&sim.sim.issuer_url(), claims)
}

#[tokio::test]
async fn a_users_token_says_who_acted_for_which_installation() {
    let sim = issuer().await;
    let verifier = verifier(&sim, REFETCH_AFTER);
    let claims = verifier.verify(&sim.sim.user_token(INSTALLATION, "u1", "USER"), TokenType::Access).await.unwrap();
    assert_eq!(claims.installation_id.as_deref(), Some(INSTALLATION));
    assert_eq!(claims.user(), Some(("u1", Role::User)));
    let system = verifier.verify(&sim.sim.system_token(INSTALLATION), TokenType::Access).await.unwrap();
    assert_eq!(system.user(), None, "a system token names no user");
}

#[tokio::test]
async fn every_forged_or_misdirected_token_is_refused() {
    let sim = issuer().await;
    let verifier = verifier(&sim, REFETCH_AFTER);
    let genuine = sim.sim.user_token(INSTALLATION, "u1", "ADMIN");
    // The payload changed after signing: another installation, the same signature.
    let [head, body, signature]: [&str; 3] = genuine.split('.').collect::<Vec<_>>().try_into().unwrap();
    let other = forged(&sim, |c| c["installation_id"] = json!("icfg_someone_else"));
    let other_body = other.split('.').nth(1).unwrap();
    let tampered = format!("{head}.{other_body}.{signature}");
    assert_ne!(body, other_body);
    let now = now_secs();
    let cases = [
        ("tampered", tampered),
        ("another audience", forged(&sim, |c| c["aud"] = json!("oac_another_integration"))),
        ("another issuer", forged(&sim, |c| c["iss"] = json!("https://marketplace.evil.example"))),
        ("expired", forged(&sim, |c| c["exp"] = json!(now - 3600))),
        ("not a JWT", "not-a-token".to_owned()),
        ("an unsigned token", unsigned(&genuine)),
    ];
    for (what, token) in cases {
        let refused = verifier.verify(&token, TokenType::Access).await;
        // Signed by the issuer's own key, so only the claims or the signature can be at fault.
        let signed = !matches!(what, "not a JWT" | "an unsigned token");
        match refused {
            Err(TokenError::Invalid(_)) if signed => {}
            Err(TokenError::Malformed) if !signed => {}
            other => panic!("{what}: {other:?}"),
        }
    }
    // SSO's id_token is never a Partner API bearer, and the reverse.
    let id_token = forged(&sim, |c| c["type"] = json!("id_token"));
    assert!(matches!(verifier.verify(&id_token, TokenType::Access).await, Err(TokenError::WrongType { .. })));
    assert!(matches!(verifier.verify(&genuine, TokenType::Id).await, Err(TokenError::WrongType { .. })));
    assert!(verifier.verify(&id_token, TokenType::Id).await.is_ok());
}

/// Vercel rotates its key: a token naming the new key fetches the JWKS again. An outage of the
/// JWKS endpoint leaves tokens of known keys verifying, and fails only those of new keys.
#[tokio::test]
async fn a_rotated_key_is_fetched_and_an_outage_keeps_the_known_keys() {
    let sim = issuer().await;
    let verifier = verifier(&sim, Duration::ZERO);
    verifier.verify(&sim.sim.user_token(INSTALLATION, "u1", "ADMIN"), TokenType::Access).await.unwrap();
    sim.sim.oidc().set_jwks_down(true);
    let known = sim.sim.user_token(INSTALLATION, "u1", "ADMIN");
    assert!(verifier.verify(&known, TokenType::Access).await.is_ok(), "a known key needs no fetch");
    sim.sim.oidc().rotate();
    let rotated = sim.sim.user_token(INSTALLATION, "u1", "ADMIN");
    let down = verifier.verify(&rotated, TokenType::Access).await;
    assert!(matches!(down, Err(TokenError::KeysUnavailable(_))), "{down:?}");
    assert!(verifier.verify(&known, TokenType::Access).await.is_ok(), "the outage lost no key");
    sim.sim.oidc().set_jwks_down(false);
    assert!(verifier.verify(&rotated, TokenType::Access).await.is_ok(), "the new key is fetched");
}

/// A key Vercel no longer publishes stops verifying once the JWKS is read again.
#[tokio::test]
async fn a_withdrawn_key_stops_verifying() {
    let sim = issuer().await;
    let verifier = verifier(&sim, Duration::ZERO);
    let old = sim.sim.user_token(INSTALLATION, "u1", "ADMIN");
    verifier.verify(&old, TokenType::Access).await.unwrap();
    sim.sim.oidc().rotate();
    sim.sim.oidc().withdraw_old_keys();
    verifier.verify(&sim.sim.user_token(INSTALLATION, "u1", "ADMIN"), TokenType::Access).await.unwrap();
    assert_eq!(verifier.verify(&old, TokenType::Access).await.unwrap_err(), TokenError::UnknownKey);
}

/// Within the refetch interval a key the cache does not know is refused without asking the
/// issuer again: made-up key ids cost Vercel's endpoint nothing.
#[tokio::test]
async fn unknown_keys_do_not_refetch_within_the_interval() {
    let sim = issuer().await;
    let verifier = verifier(&sim, REFETCH_AFTER);
    verifier.verify(&sim.sim.user_token(INSTALLATION, "u1", "ADMIN"), TokenType::Access).await.unwrap();
    sim.sim.oidc().rotate();
    let rotated = sim.sim.user_token(INSTALLATION, "u1", "ADMIN");
    let refused = verifier.verify(&rotated, TokenType::Access).await;
    assert_eq!(refused.unwrap_err(), TokenError::UnknownKey);
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The same claims under `alg: none`, with the key id kept and no signature.
fn unsigned(token: &str) -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = engine.encode(br#"{"alg":"none","typ":"JWT","kid":"sim-oidc-1"}"#);
    format!("{header}.{}.", token.split('.').nth(1).unwrap())
}

/// The Partner API's door, through Tether's own routes: the plans Vercel reads while a user
/// creates a resource.
#[tokio::test]
async fn the_partner_api_takes_vercels_token_for_its_installation_only() {
    let world = crate::support::world().await;
    let sim = &world.sim.sim;
    let client = reqwest::Client::new();
    let get = |path: &str, token: Option<String>| {
        let request = client.get(format!("{}{path}", world.tether));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    };
    let mine = || Some(sim.user_token(INSTALLATION, "u1", "ADMIN"));
    // Without [[native.products]], one product named by the integration's slug, with a free plan.
    let plans = get("/v1/products/tether/plans", mine()).send().await.unwrap();
    assert_eq!(plans.status(), 200);
    let plans: serde_json::Value = plans.json().await.unwrap();
    assert_eq!(plans["plans"][0]["paymentMethodRequired"], false, "{plans}");
    let unknown = get("/v1/products/no-such-product/plans", mine()).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let path = format!("/v1/installations/{INSTALLATION}/plans");
    let installation_plans: serde_json::Value = get(&path, mine()).send().await.unwrap().json().await.unwrap();
    assert_eq!(installation_plans, json!({"plans": []}), "no installation-scoped plan by default");
    // Before the installation exists Vercel names it `new`, with a token for the one to come.
    assert_eq!(get("/v1/installations/new/plans", mine()).send().await.unwrap().status(), 200);
    for (what, path, token, status, code) in [
        ("no token", path.clone(), None, 401, "unauthorized"),
        ("a forged token", path.clone(), Some(format!("{}x", mine().unwrap())), 401, "unauthorized"),
        ("another installation's token", "/v1/installations/icfg_other/plans".to_owned(), mine(), 403, "forbidden"),
    ] {
        let refused = get(&path, token).send().await.unwrap();
        assert_eq!(refused.status(), status, "{what}");
        let body: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{what}: {body}");
    }
}
