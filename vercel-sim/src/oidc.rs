//! Vercel's OIDC issuer for the Marketplace, as the simulator plays it. Vercel signs every call
//! to a vendor's Partner API (and the SSO `id_token`) with a key its JWKS publishes; the
//! simulator does the same with two fixed RSA keys of its own, published here like its client
//! secret and good for nothing else.
//!
//! | endpoint | what it answers | source |
//! |---|---|---|
//! | `GET /.well-known/openid-configuration` | `{issuer, jwks_uri, id_token_signing_alg_values_supported}` | native-protocol.md §1.2 |
//! | `GET /.well-known/jwks` | `{keys:[{kty:"RSA", kid, use:"sig", alg:"RS256", n, e}]}`: the signing key, and after [`Issuer::rotate`] the old one too until [`Issuer::withdraw_old_keys`]; 503 while [`Issuer::set_jwks_down`] | §1.2; Vercel's example caches the JWKS (PR #86) |
//!
//! Tokens ([`Issuer::mint`]) are RS256 with `kid`, and carry what the caller gives: user tokens
//! have `iss, aud, type, account_id, sub, installation_id, user_id, user_role, user_email,
//! user_name, iat, exp`; system tokens leave the user out (§1.2).

use std::sync::{
    atomic::{AtomicBool, AtomicUsize, Ordering},
    Arc,
};

use axum::{
    extract::{FromRef, State},
    http::StatusCode,
    response::IntoResponse,
    routing::get,
    Json, Router,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

/// The simulator's signing keys (RSA 2048, PKCS#1): published, so never trust them anywhere but
/// against the simulator.
const KEYS: [(&str, &str, &str); 2] = [
    ("sim-oidc-1", r#"-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAuwExTP/q/5C5DDSQtcRyfwDyje7yTUmtemrLkDWKF+HJVKKF
PikEVVDtMNIXZEq4ZdxwyW2530pjhU5UpAgfDlaVSIaCp6ApDOg0uaS5cRdv94aZ
ZqAGi2leUXdklTWqu/Fs4aWENN8Xo+6J7goAPk827MD4PXD+P5XmjnfwC35DCF1R
xI9kUm1Z7/h2+PvYETy7xETALwTmRzqNaYyFrznTw87D+wjaYvgcwQ6CjaBVyiFa
dZlK8CjZaeafJTwADPHwfMsU/g7J/Cm5y2xMvjlzHdm7PTfXvxfVcMAR7TS4O/MH
ZybeC62yhoclCZ196eUN045MZLkq41540eGPdQIDAQABAoIBABXYKFGlzWYoGi2e
UE8jUPqb+jlxMZWspxqXMgs47dYnVlTQHT9rHCn5J5Pd3sSk49BmRTiKXD2Em4Z9
ZW650iLjI1ITAF0jXNg4obwTzWO0CKzB6NZvmAQd/VoH19SELdsBcyYSpxRkAQdx
vGP1gBzHNRPH4NeQhOqZkJKQ2RYGaRmy1w3EjnZqcxeOC1JNIuaF4O7XEwUsHl8j
VakzRlKb5zVVZI7WeW+1V1E4gsMBDzL9CPXayFC/wqhs4f6kVBP0YS4/r2TMLLZI
cwdXFjbBZ7BOLN/HXtETpNCL+/PJ+QT8oxih6WP4sNrn47fIFL/YuMwVbSaOiDjD
dgmRb3ECgYEA4kRCOxiaIUt/qJlbZeuFfXTy3TOnREQgmNZErDP2UdDApwyPuyMd
gBP6NGekhPEBRp67DQ80XV4/hcsrrHWbpXNu58NhUijhe+4cms65DcyHbyMdSEbm
AO/hwC1kPPgEUwEw0xq1PuhvYKQw+RwZ0ZeRjuQu+jTYRIAeFcPXB3kCgYEA05Qj
W0Uxdn3+nPTdJE1vOXdT+EGYn4olLLYspPuSCd9NQeAbRiop+gueHis9Nw+te1ir
aGgO4ZSmpn6xgP061uL/aOBxLhNOZLqHiNTvp0hAOJcbLbnm8eXI2tqQf/pB+Xy2
u0lzYF/q6NiHzySL7okErET87sU7cjlUDmrN/N0CgYBERtS1gHcCFQYwmhY6axed
A+1FUpDmyKgNdprCW+u4RIXd4qx8i9wbCew2ZBABDbiU1tEa37utcQM6HFTRdavC
AVM2HH8Bi9R+0RtQm5C72TwFDVOIu9wr7DbzBr94pl6nrXROP4DxurHhN6qPgStJ
U7NYqwKB/fBEu2RYrP/2AQKBgHFmdsTWgzpVMYCCpXxtnG2ajYED93+bFW2vfqI2
zAFKlCf4q+Whd7ozO95Dop2+Y2c3ETf2ffNeLywRv6W5FC5UoDxf/4mIg33tk/M8
3e41BWbPZpvNhgCk/lB+0PAm+/FybKZZKeO/xTJjy/a0SePhwIVsvHxlbgU8wNax
XBJpAoGBAI+a1ciOc4g8FXVLefwDf30BScQfxRacf1XVfbeGZLuIdhIyI4mDWQI9
jHOw1Nqrbc4BHf+UOf9t6WN5KB9+ORAmeqfi5xco/7dzb4JMIOfq0WmP7epy1Oe0
Br3+Sp9Si9SwCnGVF2YZL6eCNkDi10rH09RDz/1WUsngLHpIhNis
-----END RSA PRIVATE KEY-----"#, "uwExTP_q_5C5DDSQtcRyfwDyje7yTUmtemrLkDWKF-HJVKKFPikEVVDtMNIXZEq4ZdxwyW2530pjhU5UpAgfDlaVSIaCp6ApDOg0uaS5cRdv94aZZqAGi2leUXdklTWqu_Fs4aWENN8Xo-6J7goAPk827MD4PXD-P5XmjnfwC35DCF1RxI9kUm1Z7_h2-PvYETy7xETALwTmRzqNaYyFrznTw87D-wjaYvgcwQ6CjaBVyiFadZlK8CjZaeafJTwADPHwfMsU_g7J_Cm5y2xMvjlzHdm7PTfXvxfVcMAR7TS4O_MHZybeC62yhoclCZ196eUN045MZLkq41540eGPdQ"),
    ("sim-oidc-2", r#"-----BEGIN RSA PRIVATE KEY-----
MIIEogIBAAKCAQEAhqNqizsSsjT5P+HbLGrK/51p4DSYoRwvIjBC79h7n5QUWKMY
YGgAY2hRd8n+yxKSd3inOv/po8JqkQ6/wB0NFBBpLvNYNbRUAUEypIPHlT+5BDkW
40TrprAWYUyzA2jyFDUWnOr+CoqEG2upWEFGfuv8j7B2jO4cktvMWKWkwDZD1mCB
TTCr9/rj+cnV6mxlN8SlGU6AztIrveG+cezzd0IBjeD2JEaIzNC9zmmyFWrYSQf4
wDhH0cr42PzPAWMpmG0dC1+ckDSmIOc4almMrd9i3M/NgnVAOIpS8nUJ9Wjnv3qZ
kKbYofSKLyd9t1ceRXjDHs1C57elDo3tHElBVQIDAQABAoIBAAo+g9xNJdqGWlKo
gi8qfwCc/xHOnrBffxyYVHeAXsOhFj06R6AKOcFWjiBRr7/OzXMmrH66OxI5ODeK
Sj+5ViXpK7+lR1hqvJuN1OccmcJ64z51g47OTynTKxjDJ7nCMe0krvBIlwTBTlTx
x6RN7ym4FfLu585ITcdEzxMNo2/2dMlY3jSleXZXvU16zJPlWDSCWaHsH2cr8n70
QPGvLRbjCKivvmmcB/UIH1hVvJjj/L3LwUYUBUi3SeKJW9Zw9UpEtdDgoJNOR9rD
FWvTPtWYm9mY8VYE0tWd+ror7KcbRcar4SH4xcR40i5HCk3iO4StdyOSp9IAsEKc
T2QUCD8CgYEAukQOtdzH0CNJJVrbZlB0PNsqkaJ9IHnSACHG1WEeDxBQP+v3t/f8
WbRV4pNLy+RGmnX1v+oSDUjdZZ+YzE6gT/dPTdUigXp1zSD11dEzzjp2T8EuCcUu
YqribbGjR1hI2CJVkJ50A0M/x5Vsqr3WFXeMKoMlt4IG4iq+CWTvPSMCgYEAuQtR
Er9pFYt5n8FMID9i6T+Xu5waLvRwv1DoKtv5fTvj/sqGYqGGPylQnGuaFz1N8oWZ
9S5IWajbXtEBuq4z1aOUp2uBY3nP1R8bzp6OG27lQ/jCCMqxlI2JfEILMQQQIFpl
gCl4Lf5Wxuhrp+E4D8PwjwF4MKx8aHecwZTu2ycCgYBKX5JgG1/NQ8mZGMYx/D3t
brV4oSDFLt8jHll+KeEOsrzYSSgIVQR17QO+DIJfTy7BzgfqMVQz6bw9L5SbP2nT
hDQuJ8Q3XuZamaaPUZEV71H+VmxDinATBZiTpDJF8oJjipIPxLUd+GQnFQrmwhYR
TEKzVtpgg5KsC9UFez/rcQKBgCXc/O/bHsN70J0xzkPi9HhJvOB0pp7pAZEEGx15
+Wj4skRWaH0SFAgkigwXsGYE80gmskQK/l7qQEj8d2AdeRnD6Q0A4G7cY/x16xiy
NN3EKUFpSzrFTuTYuUMluGiFLk+Qb6hz09WFb3gv4qdtXC1NqJF6eX9sK+CsaPTr
ZpyNAoGAevelKCLcsW37LlA88MG2qstCF2FxIt56m6c9jfdQmxK3ubQkcsBaCfTK
4TmSpllArCr9l2Zdg7ZdK+n4iXZh9tUI563Z6s5kwQgbLoW6fhOfnFSBxONd1Jzs
a3b2+0EvPSehJXLa7IrZwG1VodTyEkoiEAnjaC4d5YtVI10UKF8=
-----END RSA PRIVATE KEY-----"#, "hqNqizsSsjT5P-HbLGrK_51p4DSYoRwvIjBC79h7n5QUWKMYYGgAY2hRd8n-yxKSd3inOv_po8JqkQ6_wB0NFBBpLvNYNbRUAUEypIPHlT-5BDkW40TrprAWYUyzA2jyFDUWnOr-CoqEG2upWEFGfuv8j7B2jO4cktvMWKWkwDZD1mCBTTCr9_rj-cnV6mxlN8SlGU6AztIrveG-cezzd0IBjeD2JEaIzNC9zmmyFWrYSQf4wDhH0cr42PzPAWMpmG0dC1-ckDSmIOc4almMrd9i3M_NgnVAOIpS8nUJ9Wjnv3qZkKbYofSKLyd9t1ceRXjDHs1C57elDo3tHElBVQ"),
];

/// How long a minted token lives, as Vercel's do (minutes).
pub const TOKEN_LIFETIME_SECS: i64 = 600;

#[derive(Debug, Default)]
pub struct Issuer {
    /// The issuer's URL (`iss`), where its discovery document and JWKS answer.
    url: String,
    /// Which of [`KEYS`] signs; the ones before it stay published from `published_from` on.
    signing: AtomicUsize,
    published_from: AtomicUsize,
    jwks_down: AtomicBool,
}

impl Issuer {
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), ..Self::default() }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// A token with these claims (object), signed by the current key. `iss` and `exp` are filled
    /// in unless given, so tests can forge either.
    pub fn mint(&self, issuer: &str, claims: Value) -> String {
        let (kid, _, _) = KEYS[self.signing.load(Ordering::SeqCst)];
        self.mint_with_kid(issuer, claims, kid)
    }

    /// The same, naming `kid` as its key: a key id the JWKS does not publish makes a token no
    /// verifier can check (the fault `unknown_key`).
    pub fn mint_with_kid(&self, issuer: &str, claims: Value, kid: &str) -> String {
        let (_, pem, _) = KEYS[self.signing.load(Ordering::SeqCst)];
        let mut claims = claims;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        if let Some(object) = claims.as_object_mut() {
            object.entry("iss").or_insert_with(|| json!(issuer));
            object.entry("iat").or_insert_with(|| json!(now));
            object.entry("exp").or_insert_with(|| json!(now + TOKEN_LIFETIME_SECS));
        }
        let header = Header { kid: Some(kid.to_owned()), ..Header::new(Algorithm::RS256) };
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("the simulator's key parses");
        jsonwebtoken::encode(&header, &claims, &key).expect("a token signs")
    }

    /// Signs with the next key from now on, and publishes it beside the old one.
    pub fn rotate(&self) {
        let next = (self.signing.load(Ordering::SeqCst) + 1).min(KEYS.len() - 1);
        self.signing.store(next, Ordering::SeqCst);
    }

    /// Stops publishing every key but the signing one, as when a key is withdrawn.
    pub fn withdraw_old_keys(&self) {
        self.published_from.store(self.signing.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// The JWKS endpoint answers 503 while `down`.
    pub fn set_jwks_down(&self, down: bool) {
        self.jwks_down.store(down, Ordering::SeqCst);
    }

    fn jwks(&self) -> Value {
        let published = &KEYS[self.published_from.load(Ordering::SeqCst)..=self.signing.load(Ordering::SeqCst)];
        let keys: Vec<Value> = published
            .iter()
            .map(|(kid, _, n)| json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": n, "e": "AQAB"}))
            .collect();
        json!({ "keys": keys })
    }
}

/// The discovery document and the JWKS, for any state that holds the issuer.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Issuer>: FromRef<S>,
{
    Router::new().route("/.well-known/openid-configuration", get(discovery)).route("/.well-known/jwks", get(jwks))
}

async fn discovery(State(issuer): State<Arc<Issuer>>) -> Json<Value> {
    let url = issuer.url();
    Json(json!({
        "issuer": url,
        "jwks_uri": format!("{url}/.well-known/jwks"),
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(State(issuer): State<Arc<Issuer>>) -> impl IntoResponse {
    if issuer.jwks_down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"error": "unavailable"})));
    }
    (StatusCode::OK, Json(issuer.jwks()))
}
