//! Vercel's OIDC tokens: every call to the Partner API carries one as its bearer, and the SSO
//! `id_token` is one too. A token is taken only when its signature verifies against a key of the
//! issuer's JWKS, its `iss` is the issuer, its `aud` the integration's client id, it has not
//! expired, and its `type` is the one the caller expects (an SSO `id_token` is never a Partner
//! API bearer, nor the reverse).
//!
//! The JWKS is cached. A token naming a key not in the cache fetches it again, at most once per
//! [`REFETCH_AFTER`], so a flood of made-up `kid`s costs Vercel's endpoint one request; an outage
//! of the endpoint leaves the cached keys verifying as before.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use jsonwebtoken::{
    jwk::{AlgorithmParameters, JwkSet},
    Algorithm, DecodingKey, Validation,
};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};
use url::Url;

/// The least time between two fetches of the JWKS in production.
pub const REFETCH_AFTER: Duration = Duration::from_secs(30);

/// Clock skew allowed on `exp` (and `nbf`, `iat` where present).
const LEEWAY_SECS: u64 = 30;

/// Which kind of token a caller expects (the `type` claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// A Partner API bearer.
    Access,
    /// SSO's `id_token`.
    Id,
}

impl TokenType {
    fn claim(self) -> &'static str {
        match self {
            TokenType::Access => "access_token",
            TokenType::Id => "id_token",
        }
    }
}

/// A Vercel user's role in the team. `USER` covers Vercel's billing and viewer roles: read only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Role {
    Admin,
    User,
}

impl Role {
    /// As Vercel spells it in its tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "ADMIN",
            Role::User => "USER",
        }
    }
}

/// The claims Tether reads. User tokens carry the user; system tokens (Vercel's background
/// calls) leave them out, and `installation_id` may be null in them.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub installation_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub user_role: Option<Role>,
    #[serde(default)]
    pub user_email: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
}

impl Claims {
    /// A user acted (user authentication), not Vercel's system.
    pub fn user(&self) -> Option<(&str, Role)> {
        Some((self.user_id.as_deref()?, self.user_role?))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a JWT with a key id")]
    Malformed,
    #[error("the token names a key the issuer does not publish")]
    UnknownKey,
    #[error("the token does not verify: {0}")]
    Invalid(String),
    #[error("the token is a {found}, not a {wanted}")]
    WrongType { found: String, wanted: &'static str },
    #[error("the issuer's keys cannot be read: {0}")]
    KeysUnavailable(String),
}

/// One key of the JWKS, ready to verify with.
#[derive(Clone)]
struct Key {
    key: DecodingKey,
    algorithm: Algorithm,
}

#[derive(Default)]
struct Cache {
    keys: HashMap<String, Key>,
    fetched: Option<Instant>,
}

pub struct Verifier {
    issuer: String,
    audience: String,
    jwks_url: Url,
    http: reqwest::Client,
    /// The least time between two fetches ([`REFETCH_AFTER`] but in tests).
    refetch_after: Duration,
    cache: RwLock<Cache>,
    /// One fetch at a time: callers that find the same unknown key wait for it.
    fetching: Mutex<()>,
}

impl Verifier {
    /// `issuer` is `iss` exactly (`https://marketplace.vercel.com`); its keys are at
    /// `{issuer}/.well-known/jwks`.
    pub fn new(
        issuer: &str,
        audience: &str,
        http: reqwest::Client,
        refetch_after: Duration,
    ) -> Result<Self, url::ParseError> {
        let issuer = issuer.trim_end_matches('/').to_owned();
        let jwks_url = Url::parse(&format!("{issuer}/.well-known/jwks"))?;
        Ok(Self {
            issuer,
            audience: audience.to_owned(),
            jwks_url,
            http,
            refetch_after,
            cache: RwLock::default(),
            fetching: Mutex::new(()),
        })
    }

    pub async fn verify(&self, token: &str, wanted: TokenType) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        let kid = header.kid.ok_or(TokenError::Malformed)?;
        let key = self.key(&kid).await?;
        // The key decides the algorithm, never the token: a token may not pick a weaker one.
        if header.alg != key.algorithm {
            return Err(TokenError::Invalid(format!("signed with {:?}, the key is {:?}", header.alg, key.algorithm)));
        }
        let mut validation = Validation::new(key.algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = LEEWAY_SECS;
        let data = jsonwebtoken::decode::<Claims>(token, &key.key, &validation)
            .map_err(|error| TokenError::Invalid(error.to_string()))?;
        let claims = data.claims;
        // Vercel's older tokens carry no `type`; those that do must be what the caller expects.
        if let Some(found) = claims.kind.as_deref().filter(|found| *found != wanted.claim()) {
            return Err(TokenError::WrongType { found: found.to_owned(), wanted: wanted.claim() });
        }
        Ok(claims)
    }

    async fn key(&self, kid: &str) -> Result<Key, TokenError> {
        if let Some(key) = self.cache.read().await.keys.get(kid) {
            return Ok(key.clone());
        }
        let _one_at_a_time = self.fetching.lock().await;
        {
            let cache = self.cache.read().await;
            if let Some(key) = cache.keys.get(kid) {
                return Ok(key.clone());
            }
            if cache.fetched.is_some_and(|at| at.elapsed() < self.refetch_after) {
                return Err(TokenError::UnknownKey);
            }
        }
        let fetched = self.fetch().await;
        let mut cache = self.cache.write().await;
        cache.fetched = Some(Instant::now());
        // The JWKS as published now replaces the cache, so a key Vercel withdrew stops verifying;
        // an outage keeps what was cached, so known keys go on verifying.
        cache.keys = fetched?;
        cache.keys.get(kid).cloned().ok_or(TokenError::UnknownKey)
    }

    async fn fetch(&self) -> Result<HashMap<String, Key>, TokenError> {
        let unavailable = |why: String| TokenError::KeysUnavailable(why);
        let response = self.http.get(self.jwks_url.clone()).send().await.map_err(|e| unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("the JWKS endpoint answered {}", response.status())));
        }
        let set: JwkSet = response.json().await.map_err(|e| unavailable(e.to_string()))?;
        Ok(set.keys.iter().filter_map(|jwk| Some((jwk.common.key_id.clone()?, usable(jwk)?))).collect())
    }
}

/// A signing key and its algorithm: the JWK's own, else the usual one of its family. Symmetric
/// keys are never taken (anyone who read the JWKS could sign with them).
fn usable(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Key> {
    let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
        (AlgorithmParameters::OctetKey(_), _) => return None,
        (_, Some(given)) => given.to_string().parse().ok()?,
        (AlgorithmParameters::RSA(_), None) => Algorithm::RS256,
        (AlgorithmParameters::EllipticCurve(_), None) => Algorithm::ES256,
        (AlgorithmParameters::OctetKeyPair(_), None) => Algorithm::EdDSA,
    };
    if matches!(algorithm, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
        return None;
    }
    Some(Key { key: DecodingKey::from_jwk(jwk).ok()?, algorithm })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwk(json: serde_json::Value) -> jsonwebtoken::jwk::Jwk {
        serde_json::from_value(json).unwrap()
    }

    /// A shared secret in a JWKS would let anyone who read it sign: never a key to verify with.
    #[test]
    fn symmetric_keys_are_never_used_and_an_rsa_key_defaults_to_rs256() {
        let oct = jwk(serde_json::json!({"kty": "oct", "kid": "k", "k": "c2VjcmV0"}));
        assert!(usable(&oct).is_none());
        let hs_named_rsa = jwk(serde_json::json!({"kty": "RSA", "kid": "k", "alg": "HS256", "n": "AQAB", "e": "AQAB"}));
        assert!(usable(&hs_named_rsa).is_none(), "an RSA key may not claim a symmetric algorithm");
        let rsa = jwk(serde_json::json!({"kty": "RSA", "kid": "k", "n": "AQAB", "e": "AQAB"}));
        assert_eq!(usable(&rsa).map(|key| key.algorithm), Some(Algorithm::RS256));
    }
}
