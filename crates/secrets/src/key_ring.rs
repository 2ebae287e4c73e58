use std::{collections::BTreeMap, fmt};

use aes_gcm::{Aes256Gcm, KeyInit};
use base64::{Engine, engine::general_purpose::STANDARD};

/// Why a key ring description could not be used. Never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error("the encryption key list is empty: give at least one `id:base64key` entry")]
    Empty,
    #[error("encryption key entry {index} is not of the form `id:base64key`")]
    Malformed { index: usize },
    #[error("encryption key `{id}` is not valid base64")]
    NotBase64 { id: String },
    #[error("encryption key `{id}` must be 32 bytes (AES-256), it has {len}")]
    WrongLength { id: String, len: usize },
    #[error("encryption key id `{id}` appears twice")]
    DuplicateId { id: String },
    #[error("encryption key id `{id}` may only hold letters, digits, `-` and `_` (1-32 characters)")]
    BadId { id: String },
}

/// The encryption keys, by id. The first key of the description is the active one: it seals new tokens;
/// the others only open tokens sealed before a rotation.
#[derive(Clone)]
pub struct KeyRing {
    active: String,
    keys: BTreeMap<String, Aes256Gcm>,
}

impl fmt::Debug for KeyRing {
    // Key material never reaches a log: only the ids are printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("active", &self.active)
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KeyRing {
    /// Parses `id:base64key[,id:base64key…]` (commas or newlines between entries); the first is active.
    pub fn parse(description: &str) -> Result<Self, KeyRingError> {
        let mut keys = BTreeMap::new();
        let mut active = None;
        let entries = description
            .split([',', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty() && !e.starts_with('#'));
        for (index, entry) in entries.enumerate() {
            let (id, b64) = entry.split_once(':').ok_or(KeyRingError::Malformed { index })?;
            let id = id.trim();
            if id.is_empty()
                || id.len() > 32
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(KeyRingError::BadId { id: id.to_owned() });
            }
            let bytes = STANDARD
                .decode(b64.trim())
                .map_err(|_| KeyRingError::NotBase64 { id: id.to_owned() })?;
            let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| KeyRingError::WrongLength {
                id: id.to_owned(),
                len: bytes.len(),
            })?;
            if keys.insert(id.to_owned(), cipher).is_some() {
                return Err(KeyRingError::DuplicateId { id: id.to_owned() });
            }
            active.get_or_insert_with(|| id.to_owned());
        }
        let active = active.ok_or(KeyRingError::Empty)?;
        Ok(Self { active, keys })
    }

    /// A fresh random key, encoded as one `id:base64key` entry (for the generated development key).
    pub fn generate_entry(id: &str) -> String {
        let key = Aes256Gcm::generate_key(aes_gcm::aead::OsRng);
        format!("{id}:{}", STANDARD.encode(key))
    }

    /// The id of the key that seals new tokens.
    pub fn active_id(&self) -> &str {
        &self.active
    }

    pub(crate) fn active(&self) -> (&str, &Aes256Gcm) {
        // The active id was inserted together with its key in `parse`, so the lookup cannot miss;
        // fall back to the first key rather than panic all the same.
        match self.keys.get_key_value(&self.active) {
            Some((id, key)) => (id.as_str(), key),
            None => {
                let (id, key) = self
                    .keys
                    .iter()
                    .next()
                    .unwrap_or_else(|| unreachable!("ring is never empty"));
                (id.as_str(), key)
            }
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Aes256Gcm> {
        self.keys.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_entry_is_active_and_others_stay_usable() {
        let a = KeyRing::generate_entry("k2");
        let b = KeyRing::generate_entry("k1");
        let ring = KeyRing::parse(&format!("{a},\n{b}")).unwrap();
        assert_eq!(ring.active_id(), "k2");
        assert!(ring.get("k1").is_some());
    }

    #[test]
    fn rejects_bad_descriptions_without_echoing_keys() {
        assert!(matches!(KeyRing::parse(""), Err(KeyRingError::Empty)));
        assert!(matches!(
            KeyRing::parse("nokey"),
            Err(KeyRingError::Malformed { .. })
        ));
        let err = KeyRing::parse("k1:c2hvcnQ=").unwrap_err();
        assert!(matches!(err, KeyRingError::WrongLength { len: 5, .. }));
        assert!(!err.to_string().contains("c2hvcnQ"));
        assert!(matches!(
            KeyRing::parse("k 1:AAAA"),
            Err(KeyRingError::BadId { .. })
        ));
        let e = KeyRing::generate_entry("k1");
        assert!(matches!(
            KeyRing::parse(&format!("{e},{e}")),
            Err(KeyRingError::DuplicateId { .. })
        ));
    }

    #[test]
    fn debug_shows_ids_only() {
        let entry = KeyRing::generate_entry("k1");
        let ring = KeyRing::parse(&entry).unwrap();
        let printed = format!("{ring:?}");
        let (_, key) = entry.split_once(':').unwrap();
        assert!(printed.contains("k1"));
        assert!(!printed.contains(key));
    }
}
