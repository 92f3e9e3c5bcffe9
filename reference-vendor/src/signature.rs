//! The contract's signature check, written apart from Tether's as a vendor would write it.

use axum::http::HeaderMap;
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::{Flaw, TOLERANCE_SECS};

pub(crate) fn parse_secrets(spec: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    let keys: Vec<Vec<u8>> = spec
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|part| {
            let secret = part.trim().split_once(':').map(|(_, s)| s).unwrap_or(part.trim());
            let b64 =
                secret.strip_prefix("whsec_").ok_or_else(|| anyhow::anyhow!("a secret must start with whsec_"))?;
            Ok(STANDARD.decode(b64)?)
        })
        .collect::<anyhow::Result<_>>()?;
    anyhow::ensure!(!keys.is_empty(), "no secret given");
    Ok(keys)
}

/// `v1,` + base64(HMAC-SHA256(key, `content`)): how account linking's answers and single
/// sign-on's tickets are signed.
pub(crate) fn sign_content(key: &[u8], content: &str) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(content.as_bytes());
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// Whether `signature` is [`sign_content`]'s, under any of `keys`, compared in constant time.
pub(crate) fn content_signed(keys: &[Vec<u8>], content: &str, signature: &str) -> bool {
    keys.iter().any(|key| {
        sign_content(key, content).is_some_and(|expected| bool::from(expected.as_bytes().ct_eq(signature.as_bytes())))
    })
}

/// HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`: what signs a call, Tether's to
/// us and ours to Tether.
pub(crate) fn call_mac(key: &[u8], id: &str, timestamp: impl std::fmt::Display, body: &[u8]) -> Option<Vec<u8>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Some(mac.finalize().into_bytes().to_vec())
}

/// The contract's signature check: any `v1,` signature made with any of our keys over
/// `{webhook-id}.{webhook-timestamp}.{body}`, within five minutes of our clock either way.
pub(crate) fn signed(keys: &[Vec<u8>], headers: &HeaderMap, body: &[u8], flaw: Option<Flaw>) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(id), Some(timestamp), Some(signatures)) =
        (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"))
    else {
        return false;
    };
    let Ok(sent_at) = timestamp.parse::<i64>() else { return false };
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let in_window = match flaw {
        Some(Flaw::AcceptsFutureTimestamps) => now - sent_at <= TOLERANCE_SECS,
        Some(Flaw::TightWindow) => (now - sent_at).abs() <= 3 * 60,
        _ => (now - sent_at).abs() <= TOLERANCE_SECS,
    };
    if !in_window {
        return false;
    }
    let checked = if flaw == Some(Flaw::FirstSignatureOnly) { 1 } else { usize::MAX };
    keys.iter().any(|key| {
        let Some(expected) = call_mac(key, id, timestamp, body) else { return false };
        signatures
            .split(' ')
            .take(checked)
            .filter_map(|s| s.strip_prefix("v1,"))
            .filter_map(|b64| STANDARD.decode(b64).ok())
            .any(|given| bool::from(given.as_slice().ct_eq(expected.as_slice())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example in docs/provider-contract.yaml, checked by this independent code.
    #[test]
    fn the_contracts_worked_example_verifies_here_too() {
        let keys = parse_secrets("k1:whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"action":"resources.list","account":"team_1"}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(&keys[0]).unwrap();
        mac.update(b"msg_5f2b9c0e7d4a41e8b6c3a9d017f4e2b8.1614265330.");
        mac.update(body);
        let signature = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        assert_eq!(signature, "v1,0TzBU7rq3AlQpnxeWRbRoyLSm/J85OxvykW6+58CRVg=");
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", "msg_5f2b9c0e7d4a41e8b6c3a9d017f4e2b8".parse().unwrap());
        headers.insert("webhook-timestamp", "1614265330".parse().unwrap());
        headers.insert("webhook-signature", signature.parse().unwrap());
        assert!(!signed(&keys, &headers, body, None), "a 2021 timestamp is far outside the window");
    }
}
