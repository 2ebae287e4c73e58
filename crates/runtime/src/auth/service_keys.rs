//! The services' own identity: each process signs its calls to its peers with its own Ed25519 key, and
//! every process verifies them against a key set of public keys only (a JWKS), found by key id. The
//! key id names the targets the key speaks for, so a key can only ever act as those services, and a
//! token signed with the platform's keys can never be a service's.

use std::{collections::BTreeMap, fmt};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::{
    SigningKey,
    pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding},
};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header,
    jwk::{
        AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm,
        OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse,
    },
};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::Claims;
use crate::target::TargetSet;

/// Why a service key or key set could not be read. Never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum ServiceKeyError {
    #[error("the service key is not an Ed25519 private key in PEM (PKCS#8)")]
    BadPrivateKey,
    #[error("the service key set is not a JWKS (`{{\"keys\": [...]}}`): {0}")]
    BadKeySet(String),
    #[error("key {kid:?} in the service key set: {why}")]
    BadKey { kid: String, why: String },
}

/// A process's own signing key, and the targets it speaks for.
#[derive(Clone)]
pub struct ServiceKey {
    targets: TargetSet,
    kid: String,
    public: [u8; 32],
    encoding: EncodingKey,
}

impl fmt::Debug for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The key id of `public` for `targets`: `<targets>:<fingerprint>`, so that the id says whose key it is
/// and two keys of one service (during a rotation) have different ids. The fingerprint covers the
/// targets too: an entry renamed to another service no longer matches its key.
fn key_id(targets: &TargetSet, public: &[u8; 32]) -> String {
    let name = targets.to_string();
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([0])
        .chain_update(public)
        .finalize();
    format!("{name}:{}", &URL_SAFE_NO_PAD.encode(digest)[..16])
}

impl ServiceKey {
    /// A new random key for `targets`, with its PKCS#8 PEM to store (mode 0600, or a Secret).
    pub fn generate(targets: TargetSet) -> Result<(Self, SecretString), ServiceKeyError> {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        let signing = SigningKey::from_bytes(&seed);
        let pem = signing
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| ServiceKeyError::BadPrivateKey)?;
        let pem = SecretString::from(pem.as_str());
        Ok((Self::from_pem(targets, &pem)?, pem))
    }

    /// The key in `pem` (PKCS#8, as `generate` and `openssl genpkey -algorithm ed25519` write it).
    pub fn from_pem(targets: TargetSet, pem: &SecretString) -> Result<Self, ServiceKeyError> {
        let signing = SigningKey::from_pkcs8_pem(pem.expose_secret().trim())
            .map_err(|_| ServiceKeyError::BadPrivateKey)?;
        let der = signing
            .to_pkcs8_der()
            .map_err(|_| ServiceKeyError::BadPrivateKey)?;
        let public = signing.verifying_key().to_bytes();
        Ok(Self {
            kid: key_id(&targets, &public),
            targets,
            public,
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn targets(&self) -> &TargetSet {
        &self.targets
    }

    /// The public half, as a JWK for the key set.
    pub fn public_jwk(&self) -> Jwk {
        Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::EdDSA),
                key_id: Some(self.kid.clone()),
                ..CommonParameters::default()
            },
            algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: URL_SAFE_NO_PAD.encode(self.public),
            }),
        }
    }

    /// Signs `claims` with this key, naming it in the header (`kid`) so verifiers find its public half.
    pub fn mint(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }
}

/// The public keys service tokens are verified with, by key id.
#[derive(Clone, Default)]
pub struct ServiceKeySet {
    keys: BTreeMap<String, (TargetSet, DecodingKey)>,
}

impl fmt::Debug for ServiceKeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.keys.keys()).finish()
    }
}

impl ServiceKeySet {
    /// Reads a JWKS of Ed25519 public keys. Each key id must be `<targets>:<fingerprint>` and match
    /// its key, so an entry cannot claim another service's name for its key.
    pub fn from_jwks(json: &str) -> Result<Self, ServiceKeyError> {
        let set: JwkSet =
            serde_json::from_str(json).map_err(|e| ServiceKeyError::BadKeySet(e.to_string()))?;
        let mut keys = BTreeMap::new();
        for jwk in &set.keys {
            let kid = jwk.common.key_id.clone().unwrap_or_default();
            let bad = |why: &str| ServiceKeyError::BadKey {
                kid: kid.clone(),
                why: why.to_owned(),
            };
            let AlgorithmParameters::OctetKeyPair(params) = &jwk.algorithm else {
                return Err(bad("not an Ed25519 key (kty OKP, crv Ed25519)"));
            };
            if params.curve != EllipticCurve::Ed25519 {
                return Err(bad("not an Ed25519 key (crv must be Ed25519)"));
            }
            let public: [u8; 32] = URL_SAFE_NO_PAD
                .decode(&params.x)
                .ok()
                .and_then(|x| x.try_into().ok())
                .ok_or_else(|| bad("`x` is not 32 bytes of base64url"))?;
            let (targets, _) = kid
                .rsplit_once(':')
                .ok_or_else(|| bad("the key id is not `<targets>:<fingerprint>`"))?;
            let targets: TargetSet = targets.parse().map_err(|e: String| bad(&e))?;
            if key_id(&targets, &public) != kid {
                return Err(bad("the key id's fingerprint does not match the key"));
            }
            let decoding = DecodingKey::from_ed_components(&params.x).map_err(|_| bad("unreadable key"))?;
            keys.insert(kid.clone(), (targets, decoding));
        }
        Ok(Self { keys })
    }

    /// This set with `key`'s public half added (a process always trusts its own calls).
    pub fn with(mut self, key: &ServiceKey) -> Self {
        let decoding = DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(key.public));
        if let Ok(decoding) = decoding {
            self.keys.insert(key.kid.clone(), (key.targets.clone(), decoding));
        }
        self
    }

    /// The key and targets of `kid`, if it is in the set.
    pub(super) fn get(&self, kid: &str) -> Option<&(TargetSet, DecodingKey)> {
        self.keys.get(kid)
    }

    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }
}

/// A JWKS holding `keys`' public halves, as `ovice-slack service-key` writes it.
pub fn jwks(keys: impl IntoIterator<Item = Jwk>) -> String {
    let set = JwkSet {
        keys: keys.into_iter().collect(),
    };
    serde_json::to_string_pretty(&set).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Target;

    fn targets(s: &str) -> TargetSet {
        s.parse().unwrap()
    }

    #[test]
    fn a_generated_key_reads_back_and_its_jwk_round_trips() {
        crate::install_crypto_providers();
        let (key, pem) = ServiceKey::generate(targets("delivery")).unwrap();
        assert!(pem.expose_secret().starts_with("-----BEGIN PRIVATE KEY-----"));
        let again = ServiceKey::from_pem(targets("delivery"), &pem).unwrap();
        assert_eq!(again.kid(), key.kid());
        assert!(key.kid().starts_with("delivery:"));
        let set = ServiceKeySet::from_jwks(&jwks([key.public_jwk()])).unwrap();
        let (t, _) = set.get(key.kid()).unwrap();
        assert!(t.contains(Target::Delivery) && !t.contains(Target::Gateway));
    }

    #[test]
    fn a_key_set_entry_cannot_claim_another_services_name() {
        let (gateway, _) = ServiceKey::generate(targets("gateway")).unwrap();
        let mut jwk = gateway.public_jwk();
        // The gateway's key, renamed as the delivery's: the fingerprint commits to the name too.
        let fp = gateway.kid().rsplit_once(':').unwrap().1;
        jwk.common.key_id = Some(format!("delivery:{fp}"));
        let err = ServiceKeySet::from_jwks(&jwks([jwk])).unwrap_err().to_string();
        assert!(err.contains("does not match"), "{err}");
        for bad in [
            "{}",
            "not json",
            r#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"all:x"}]}"#,
            r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"all:x"}]}"#,
        ] {
            assert!(ServiceKeySet::from_jwks(bad).is_err(), "{bad}");
        }
        assert!(ServiceKey::from_pem(targets("all"), &SecretString::from("nope")).is_err());
    }
}
