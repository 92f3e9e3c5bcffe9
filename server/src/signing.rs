//! How Tether signs its calls to a vendor's system: Standard Webhooks' scheme. The headers are
//! `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,` + base64 of HMAC-SHA256 over
//! `{id}.{timestamp}.{body}`, one per key while a secret rotates), plus `tether-key-id` naming
//! those keys. `docs/provider-contract.yaml` tells vendors the same, with a worked example that a
//! test below checks.

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far a request's timestamp may be from the receiver's clock.
pub const TOLERANCE_SECS: i64 = 5 * 60;

/// One shared secret with its id. The bytes never print.
#[derive(Clone)]
pub struct SigningKey {
    pub id: String,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}, [redacted])", self.id)
    }
}

/// `id:whsec_base64[,id:whsec_base64…]`, the newest first.
pub fn parse_keys(spec: &str) -> Result<Vec<SigningKey>, String> {
    let mut keys: Vec<SigningKey> = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (id, secret) =
            part.split_once(':').ok_or_else(|| format!("`{}…` is not id:whsec_…", &part[..part.len().min(4)]))?;
        let valid_id = !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid_id {
            return Err(format!("key id `{id}` must be 1 to 32 letters, digits or dashes"));
        }
        let bytes = secret
            .strip_prefix("whsec_")
            .and_then(|b64| STANDARD.decode(b64).ok())
            .ok_or_else(|| format!("key `{id}` must be whsec_ followed by base64"))?;
        if bytes.len() < 24 {
            return Err(format!("key `{id}` is {} bytes; at least 24 are needed", bytes.len()));
        }
        if keys.iter().any(|k| k.id == id) {
            return Err(format!("key id `{id}` appears twice"));
        }
        keys.push(SigningKey { id: id.to_owned(), bytes });
    }
    if keys.is_empty() {
        return Err("no key given".into());
    }
    Ok(keys)
}

impl SigningKey {
    /// A fresh random key, as `id:whsec_…`, for tests and for `server provider-check`'s advice.
    pub fn generate_spec(id: &str) -> String {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        format!("{id}:whsec_{}", STANDARD.encode(bytes))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        self.mac_of(&[id.as_bytes(), b".", timestamp.to_string().as_bytes(), b".", body])
    }

    fn mac_of(&self, parts: &[&[u8]]) -> [u8; 32] {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.bytes) else {
            unreachable!("HMAC takes a key of any length")
        };
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

/// The headers for one request, signed by every key.
pub struct Signed {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
    pub key_ids: String,
}

pub fn sign(keys: &[SigningKey], id: &str, timestamp: i64, body: &[u8]) -> Signed {
    let signature = keys
        .iter()
        .map(|k| format!("v1,{}", STANDARD.encode(k.mac(id, timestamp, body))))
        .collect::<Vec<_>>()
        .join(" ");
    let key_ids = keys.iter().map(|k| k.id.as_str()).collect::<Vec<_>>().join(" ");
    Signed { id: id.to_owned(), timestamp, signature, key_ids }
}

/// `v1,` + base64 of the newest key's HMAC of `content`: account linking's tickets.
pub fn sign_content(keys: &[SigningKey], content: &str) -> String {
    keys.first().map(|k| format!("v1,{}", STANDARD.encode(k.mac_of(&[content.as_bytes()])))).unwrap_or_default()
}

/// Whether `signature` is `v1,` + base64 of any current key's HMAC of `content`.
pub fn verify_content(keys: &[SigningKey], content: &str, signature: &str) -> bool {
    let Some(given) = signature.strip_prefix("v1,").and_then(|b64| STANDARD.decode(b64).ok()) else {
        return false;
    };
    keys.iter().any(|k| bool::from(given.as_slice().ct_eq(&k.mac_of(&[content.as_bytes()]))))
}

/// A new `webhook-id`.
pub fn new_message_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("msg_{}", hex::encode(bytes))
}

/// The receiver's check, as the contract describes it: any signature made by any of `keys`,
/// within the tolerance of `now`.
pub fn verify(keys: &[SigningKey], id: &str, timestamp: i64, signatures: &str, body: &[u8], now: i64) -> bool {
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return false;
    }
    let candidates: Vec<Vec<u8>> = signatures
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .collect();
    keys.iter().any(|key| {
        let expected = key.mac(id, timestamp, body);
        candidates.iter().any(|c| bool::from(c.as_slice().ct_eq(&expected)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example in docs/provider-contract.yaml.
    #[test]
    fn the_contracts_worked_example_holds() {
        let keys = parse_keys("k1:whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"action":"resources.list","account":"team_1"}"#;
        let signed = sign(&keys, "msg_5f2b9c0e7d4a41e8b6c3a9d017f4e2b8", 1614265330, body);
        assert_eq!(signed.signature, "v1,0TzBU7rq3AlQpnxeWRbRoyLSm/J85OxvykW6+58CRVg=");
        assert_eq!(signed.key_ids, "k1");
        let contract = include_str!("../../docs/provider-contract.yaml");
        assert!(contract.contains(&signed.signature), "the document shows the same signature");
        // The example's id has the format the document gives, and Tether sends.
        assert!(contract.contains("webhook-id: msg_5f2b9c0e7d4a41e8b6c3a9d017f4e2b8`"));
        assert!(contract.contains("`msg_` and 32 lowercase hex digits"));
        for id in ["msg_5f2b9c0e7d4a41e8b6c3a9d017f4e2b8".to_owned(), new_message_id()] {
            let hex = id.strip_prefix("msg_").unwrap();
            assert!(hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{id}");
        }
    }

    #[test]
    fn a_receiver_accepts_any_current_key_within_the_window_and_nothing_else() {
        let old = parse_keys(&SigningKey::generate_spec("k1")).unwrap();
        let new = parse_keys(&SigningKey::generate_spec("k2")).unwrap();
        let both: Vec<SigningKey> = new.iter().chain(old.iter()).cloned().collect();
        let body = b"{}";
        let signed = sign(&both, "msg_1", 1_000, body);
        assert_eq!(signed.key_ids, "k2 k1");
        assert!(verify(&old, "msg_1", 1_000, &signed.signature, body, 1_000), "a vendor with only the old key");
        assert!(verify(&new, "msg_1", 1_000, &signed.signature, body, 1_200), "a vendor with only the new key");
        assert!(!verify(&new, "msg_1", 1_000, &signed.signature, b"{ }", 1_000), "another body");
        assert!(!verify(&new, "msg_2", 1_000, &signed.signature, body, 1_000), "another id");
        assert!(!verify(&new, "msg_1", 1_000, &signed.signature, body, 1_000 + TOLERANCE_SECS + 1), "too old");
        let stranger = parse_keys(&SigningKey::generate_spec("k9")).unwrap();
        assert!(!verify(&stranger, "msg_1", 1_000, &signed.signature, body, 1_000), "another secret");
    }

    #[test]
    fn malformed_key_lists_are_refused() {
        for spec in
            ["", "k1", "k1:abc", "k1:whsec_!!", "k1:whsec_YWJj", "bad id:whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
        {
            assert!(parse_keys(spec).is_err(), "{spec}");
        }
    }
}
