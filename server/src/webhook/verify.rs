//! `x-vercel-signature`: lowercase hex HMAC-SHA1 of the raw body, keyed by the client secret.
//! Checked on the exact bytes received, before any parsing, in constant time, against the
//! current secret and (during a rotation) the previous one.

use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::secret::ClientSecret;

const SIGNATURE_HEX_LEN: usize = 40;

/// True when `signature` is a valid signature of `body` under any of `secrets`.
pub fn verify(body: &[u8], signature: Option<&str>, secrets: &[ClientSecret]) -> bool {
    let Some(signature) = signature.map(str::trim) else {
        return false;
    };
    if signature.len() != SIGNATURE_HEX_LEN {
        return false;
    }
    let Ok(expected) = hex::decode(signature) else {
        return false;
    };
    secrets.iter().any(|secret| {
        let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret.expose().as_bytes()) else {
            return false;
        };
        mac.update(body);
        // verify_slice compares in constant time.
        mac.verify_slice(&expected).is_ok()
    })
}

/// The signature Vercel would send; the simulator and the tests sign with it.
pub fn sign(body: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn secrets(values: &[&str]) -> Vec<ClientSecret> {
        values.iter().map(|v| ClientSecret::new(*v)).collect()
    }

    // Computed with `openssl dgst -sha1 -hmac <secret>` over the same bytes.
    const KNOWN: [(&str, &[u8], &str); 3] = [
        ("key", b"The quick brown fox jumps over the lazy dog", "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"),
        (
            "sim-client-secret-not-for-production",
            br#"{"id":"evt_1","type":"deployment.created"}"#,
            "630b00e3693f06c8890dc28d2c423052a5e99021",
        ),
        ("s3cret", b"", "3e48575537919d9187078407ecb88e44b1d674e4"),
    ];

    #[test]
    fn known_answers_verify_and_sign() {
        for (secret, body, signature) in KNOWN {
            assert_eq!(sign(body, secret), signature);
            assert!(verify(body, Some(signature), &secrets(&[secret])));
        }
    }

    #[test]
    fn bad_signatures_are_refused() {
        let (secret, body, good) = KNOWN[1];
        let upper = good.to_uppercase();
        let cases = [
            None,
            Some(""),
            Some("not hex at all, not hex at all, not hex!"),
            Some(&good[..39]),
            Some(&good[..20]),
            Some("0000000000000000000000000000000000000000"),
        ];
        for case in cases {
            assert!(!verify(body, case, &secrets(&[secret])), "{case:?}");
        }
        assert!(!verify(b"{\"id\":\"evt_1\", \"type\":\"deployment.created\"}", Some(good), &secrets(&[secret])));
        assert!(!verify(body, Some(good), &secrets(&["wrong secret"])));
        // Hex case does not change the bytes; Vercel sends lowercase, both decode alike.
        assert!(verify(body, Some(&upper), &secrets(&[secret])));
    }

    #[test]
    fn a_thousand_one_bit_flips_are_all_refused() {
        let (secret, body, good) = KNOWN[1];
        let keys = secrets(&[secret]);
        let mut rng = rand::thread_rng();
        for _ in 0..1000 {
            let mut flipped = body.to_vec();
            let byte = rng.gen_range(0..flipped.len());
            flipped[byte] ^= 1 << rng.gen_range(0..8);
            assert!(!verify(&flipped, Some(good), &keys));
        }
    }

    #[test]
    fn during_rotation_both_secrets_verify_and_a_removed_one_does_not() {
        let body = br#"{"id":"evt_2"}"#;
        let old = sign(body, "old");
        let new = sign(body, "new");
        let both = secrets(&["new", "old"]);
        assert!(verify(body, Some(&old), &both) && verify(body, Some(&new), &both));
        assert!(!verify(body, Some(&old), &secrets(&["new"])));
    }
}
