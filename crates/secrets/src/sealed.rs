use std::sync::Arc;

use aes_gcm::{
    AeadCore, Aes256Gcm, Nonce,
    aead::{Aead, OsRng, Payload},
};
use secrecy::{ExposeSecret, SecretString};

use crate::KeyRing;

const NONCE_LEN: usize = 12;

/// Why a token could not be sealed or opened. Never contains the token.
#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    #[error("the token was sealed with key `{0}`, which is not in the configured key ring")]
    UnknownKey(String),
    #[error("the sealed token failed authentication (wrong key, wrong row, or tampered)")]
    Tampered,
    #[error("encryption failed")]
    Encrypt,
}

/// A token as stored: the id of the key that sealed it, and `nonce || ciphertext+tag`.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedToken {
    pub key_id: String,
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for SealedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedToken")
            .field("key_id", &self.key_id)
            .field("ciphertext", &format_args!("[{} bytes]", self.ciphertext.len()))
            .finish()
    }
}

/// Seals and opens tokens with the key ring. `context` is the row's identity (e.g. `workspace:<org>`):
/// it is bound as associated data, so a ciphertext copied to another row does not open.
#[derive(Clone, Debug)]
pub struct TokenCipher {
    ring: Arc<KeyRing>,
}

impl TokenCipher {
    pub fn new(ring: KeyRing) -> Self {
        Self { ring: Arc::new(ring) }
    }

    pub fn seal(&self, token: &SecretString, context: &str) -> Result<SealedToken, CipherError> {
        let (key_id, key) = self.ring.active();
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = associated_data(key_id, context);
        let sealed = key
            .encrypt(
                &nonce,
                Payload {
                    msg: token.expose_secret().as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| CipherError::Encrypt)?;
        let mut ciphertext = Vec::with_capacity(NONCE_LEN + sealed.len());
        ciphertext.extend_from_slice(&nonce);
        ciphertext.extend_from_slice(&sealed);
        Ok(SealedToken {
            key_id: key_id.to_owned(),
            ciphertext,
        })
    }

    pub fn open(&self, sealed: &SealedToken, context: &str) -> Result<SecretString, CipherError> {
        let key = self
            .ring
            .get(&sealed.key_id)
            .ok_or_else(|| CipherError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.ciphertext.len() < NONCE_LEN {
            return Err(CipherError::Tampered);
        }
        let (nonce, body) = sealed.ciphertext.split_at(NONCE_LEN);
        let aad = associated_data(&sealed.key_id, context);
        let plain = key
            .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: &aad })
            .map_err(|_| CipherError::Tampered)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| CipherError::Tampered)
    }

    /// The id of the key new tokens are sealed with.
    pub fn active_key_id(&self) -> &str {
        self.ring.active_id()
    }

    /// True when the token was sealed with a key other than the active one (it should be re-sealed).
    pub fn needs_reseal(&self, sealed: &SealedToken) -> bool {
        sealed.key_id != self.ring.active_id()
    }
}

fn associated_data(key_id: &str, context: &str) -> Vec<u8> {
    format!("ovice-slack/v1|{key_id}|{context}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(desc: &str) -> TokenCipher {
        TokenCipher::new(KeyRing::parse(desc).unwrap())
    }

    #[test]
    fn round_trip_and_ciphertext_hides_token() {
        let c = cipher(&KeyRing::generate_entry("k1"));
        let token = SecretString::from("xoxb-secret-token-value");
        let sealed = c.seal(&token, "workspace:org1").unwrap();
        assert!(!String::from_utf8_lossy(&sealed.ciphertext).contains("xoxb"));
        assert_eq!(
            c.open(&sealed, "workspace:org1").unwrap().expose_secret(),
            "xoxb-secret-token-value"
        );
        // A fresh nonce each time: the same token never seals to the same bytes.
        assert_ne!(
            c.seal(&token, "workspace:org1").unwrap().ciphertext,
            sealed.ciphertext
        );
    }

    #[test]
    fn moved_or_tampered_ciphertext_does_not_open() {
        let c = cipher(&KeyRing::generate_entry("k1"));
        let mut sealed = c.seal(&SecretString::from("xoxb-1"), "workspace:org1").unwrap();
        assert!(matches!(
            c.open(&sealed, "workspace:org2"),
            Err(CipherError::Tampered)
        ));
        let last = sealed.ciphertext.len() - 1;
        sealed.ciphertext[last] ^= 1;
        assert!(matches!(
            c.open(&sealed, "workspace:org1"),
            Err(CipherError::Tampered)
        ));
    }

    #[test]
    fn rotation_keeps_old_tokens_readable() {
        let old = KeyRing::generate_entry("k1");
        let sealed = cipher(&old).seal(&SecretString::from("xoxb-1"), "ctx").unwrap();
        let rotated = cipher(&format!("{},{old}", KeyRing::generate_entry("k2")));
        assert!(rotated.needs_reseal(&sealed));
        assert_eq!(rotated.open(&sealed, "ctx").unwrap().expose_secret(), "xoxb-1");
        let resealed = rotated.seal(&SecretString::from("xoxb-1"), "ctx").unwrap();
        assert_eq!(resealed.key_id, "k2");
        // Once the old key is retired, its tokens no longer open: re-seal before retiring.
        let retired = cipher(&KeyRing::generate_entry("k2"));
        assert!(matches!(
            retired.open(&sealed, "ctx"),
            Err(CipherError::UnknownKey(_))
        ));
    }
}
