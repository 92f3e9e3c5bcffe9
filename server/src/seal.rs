//! Sealing secrets at rest with AES-256-GCM. The associated data binds each ciphertext to the row
//! it belongs to, so a sealed token copied into another row does not open. Several keys may be
//! configured for rotation; the first seals, any opens.

use aes_gcm::{
    aead::{Aead, AeadCore, KeyInit, OsRng, Payload},
    Aes256Gcm, Key, Nonce,
};
use base64::{engine::general_purpose::STANDARD, Engine};

const FORMAT_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed under key `{0}`, which is not configured")]
    UnknownKey(String),
    #[error("sealed value failed authentication (tampered, or bound to another row)")]
    Tampered,
    #[error("seal keys: {0}")]
    BadKeys(String),
}

/// What a sealed value decrypts to is not the text sealed: the value is not Tether's.
impl From<std::string::FromUtf8Error> for SealError {
    fn from(_: std::string::FromUtf8Error) -> Self {
        SealError::Malformed
    }
}

impl From<std::str::Utf8Error> for SealError {
    fn from(_: std::str::Utf8Error) -> Self {
        SealError::Malformed
    }
}

/// AES-GCM says only that authentication failed: altered, or opened bound to another row.
impl From<aes_gcm::Error> for SealError {
    fn from(_: aes_gcm::Error) -> Self {
        SealError::Tampered
    }
}

#[derive(Clone)]
pub struct Sealer {
    /// (id, cipher); the first one seals.
    keys: Vec<(String, Aes256Gcm)>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<_> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Sealer").field("key_ids", &ids).finish()
    }
}

impl Sealer {
    /// Parses `id:base64key[,id:base64key…]`; each key is 32 bytes, ids are unique.
    pub fn from_spec(spec: &str) -> Result<Self, SealError> {
        let mut keys: Vec<(String, Aes256Gcm)> = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, encoded) =
                entry.split_once(':').ok_or_else(|| SealError::BadKeys("each entry must be `id:base64key`".into()))?;
            if id.is_empty()
                || id.len() > 32
                || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(SealError::BadKeys(format!("key id `{id}` must be 1 to 32 of [A-Za-z0-9_-]")));
            }
            if keys.iter().any(|(existing, _)| existing == id) {
                return Err(SealError::BadKeys(format!("key id `{id}` appears twice")));
            }
            let bytes =
                STANDARD.decode(encoded).map_err(|_| SealError::BadKeys(format!("key `{id}` is not valid base64")))?;
            if bytes.len() != 32 {
                return Err(SealError::BadKeys(format!("key `{id}` must decode to 32 bytes, not {}", bytes.len())));
            }
            // A placeholder (all zeros, one byte repeated) seals nothing anyone cannot open.
            if bytes.iter().all(|b| *b == bytes[0]) {
                return Err(SealError::BadKeys(format!(
                    "key `{id}` is one byte repeated (all zeros?), not a key: make one with `openssl rand -base64 32`"
                )));
            }
            keys.push((id.to_owned(), Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes))));
        }
        if keys.is_empty() {
            return Err(SealError::BadKeys("no key given".into()));
        }
        Ok(Self { keys })
    }

    /// A fresh random key spec, for sandbox mode and for `TETHER_SEAL_KEYS` setup.
    pub fn generate_spec(id: &str) -> String {
        let key = Aes256Gcm::generate_key(OsRng);
        format!("{id}:{}", STANDARD.encode(key))
    }

    pub fn current_key_id(&self) -> &str {
        &self.keys[0].0
    }

    /// Whether a key with this id is configured (and so can open what it sealed).
    pub fn has_key(&self, id: &str) -> bool {
        self.keys.iter().any(|(known, _)| known == id)
    }

    /// The id of the key a value was sealed under, read from its header without opening it.
    pub fn key_id_of(sealed: &[u8]) -> Option<&str> {
        split(sealed).ok().map(|(id, _, _)| id)
    }

    pub fn seal(&self, plaintext: &[u8], bound_to: &str) -> Vec<u8> {
        let (id, cipher) = &self.keys[0];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = cipher
            .encrypt(&nonce, Payload { msg: plaintext, aad: bound_to.as_bytes() })
            // Encryption fails only for inputs beyond GCM's 64 GiB limit.
            .expect("AES-GCM encryption of a small secret cannot fail");
        let mut out = Vec::with_capacity(2 + id.len() + NONCE_LEN + ciphertext.len());
        out.push(FORMAT_VERSION);
        out.push(id.len() as u8);
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    pub fn open(&self, sealed: &[u8], bound_to: &str) -> Result<Vec<u8>, SealError> {
        let (id, nonce, ciphertext) = split(sealed)?;
        let cipher = self
            .keys
            .iter()
            .find(|(known, _)| known == id)
            .map(|(_, cipher)| cipher)
            .ok_or_else(|| SealError::UnknownKey(id.to_owned()))?;
        Ok(cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: bound_to.as_bytes() })?)
    }

    pub fn open_string(&self, sealed: &[u8], bound_to: &str) -> Result<String, SealError> {
        Ok(String::from_utf8(self.open(sealed, bound_to)?)?)
    }
}

/// A sealed value's parts: version 1, the key id's length and the id, the nonce, the ciphertext.
fn split(sealed: &[u8]) -> Result<(&str, &[u8], &[u8]), SealError> {
    let (&version, rest) = sealed.split_first().ok_or(SealError::Malformed)?;
    let (&id_len, rest) = rest.split_first().ok_or(SealError::Malformed)?;
    if version != FORMAT_VERSION || rest.len() < id_len as usize + NONCE_LEN {
        return Err(SealError::Malformed);
    }
    let (id, rest) = rest.split_at(id_len as usize);
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    Ok((std::str::from_utf8(id)?, nonce, ciphertext))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> Sealer {
        Sealer::from_spec(&Sealer::generate_spec("k1")).unwrap()
    }

    #[test]
    fn round_trip() {
        let s = sealer();
        let sealed = s.seal(b"vercel-token", "installation:icfg_1");
        assert_eq!(s.open(&sealed, "installation:icfg_1").unwrap(), b"vercel-token");
        assert!(!sealed.windows(12).any(|w| w == b"vercel-token"));
    }

    #[test]
    fn every_flipped_bit_is_rejected() {
        let s = sealer();
        let sealed = s.seal(b"vercel-token", "row");
        for byte in 0..sealed.len() {
            for bit in 0..8 {
                let mut bad = sealed.clone();
                bad[byte] ^= 1 << bit;
                assert!(s.open(&bad, "row").is_err(), "flip at {byte}:{bit} opened");
            }
        }
    }

    #[test]
    fn moved_to_another_row_is_rejected() {
        let s = sealer();
        let sealed = s.seal(b"vercel-token", "installation:icfg_1");
        assert_eq!(s.open(&sealed, "installation:icfg_2"), Err(SealError::Tampered));
    }

    #[test]
    fn rotation_opens_old_and_seals_new() {
        let old_spec = Sealer::generate_spec("old");
        let old = Sealer::from_spec(&old_spec).unwrap();
        let sealed_old = old.seal(b"t", "r");
        let both = Sealer::from_spec(&format!("{},{old_spec}", Sealer::generate_spec("new"))).unwrap();
        assert_eq!(both.open(&sealed_old, "r").unwrap(), b"t");
        assert_eq!(both.current_key_id(), "new");
        let without_old = Sealer::from_spec(&Sealer::generate_spec("new")).unwrap();
        assert_eq!(without_old.open(&sealed_old, "r"), Err(SealError::UnknownKey("old".into())));
    }

    #[test]
    fn bad_specs_are_explained() {
        for spec in ["", "k1", "k1:notbase64!", "k1:AAAA", "bad id:AAAA"] {
            assert!(matches!(Sealer::from_spec(spec), Err(SealError::BadKeys(_))), "{spec}");
        }
        let one = Sealer::generate_spec("dup");
        assert!(Sealer::from_spec(&format!("{one},{one}")).is_err());
    }
}
