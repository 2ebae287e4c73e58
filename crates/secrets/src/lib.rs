//! Encryption of Slack tokens at rest (OWASP cryptographic storage): AES-256-GCM with a random 96-bit
//! nonce per seal, associated data binding the ciphertext to its row and key id, and a key ring so that
//! keys can rotate (new tokens sealed with the active key, old ones still opened with theirs).

mod key_ring;
mod sealed;

pub use key_ring::{KeyRing, KeyRingError};
pub use sealed::{CipherError, SealedToken, TokenCipher};
