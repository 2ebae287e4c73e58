use std::fmt;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use secrecy::{ExposeSecret, SecretString};

use super::claims::Claims;

/// Why JWT keys could not be set up. Never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum JwtKeysError {
    #[error("the JWT secret must be at least 32 bytes")]
    SecretTooShort,
    #[error("the JWT public key is neither an Ed25519 nor an RSA public key in PEM")]
    BadPublicKey,
    #[error("the JWT signing key is neither an Ed25519 nor an RSA private key in PEM")]
    BadSigningKey,
    #[error("no key to sign service tokens: give a JWT secret or a signing key")]
    NoSigningKey,
}

/// Signs tokens: the `token` subcommand and the services' own calls to each other.
#[derive(Clone)]
pub struct TokenMinter {
    algorithm: Algorithm,
    key: EncodingKey,
}

impl fmt::Debug for TokenMinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenMinter")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl TokenMinter {
    pub fn mint(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&Header::new(self.algorithm), claims, &self.key)
    }
}

/// Verifies tokens: HS256 with the shared secret (embedded default) and/or an EdDSA or RS256 public key
/// (production, where only the platform holds the private key).
#[derive(Clone)]
pub struct JwtKeys {
    verifiers: Vec<(Algorithm, DecodingKey)>,
    audience: String,
    minter: Option<TokenMinter>,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let algs: Vec<_> = self.verifiers.iter().map(|(a, _)| a).collect();
        f.debug_struct("JwtKeys")
            .field("algorithms", &algs)
            .field("audience", &self.audience)
            .finish()
    }
}

impl JwtKeys {
    /// `secret`: HS256 shared secret. `public_key_pem`: EdDSA or RS256 public key. `signing_key_pem`: the
    /// matching private key for the services' own tokens when no secret is given.
    pub fn new(
        secret: Option<&SecretString>,
        public_key_pem: Option<&str>,
        signing_key_pem: Option<&SecretString>,
        audience: impl Into<String>,
    ) -> Result<Self, JwtKeysError> {
        let mut verifiers = Vec::new();
        let mut minter = None;
        if let Some(secret) = secret {
            let bytes = secret.expose_secret().as_bytes();
            if bytes.len() < 32 {
                return Err(JwtKeysError::SecretTooShort);
            }
            verifiers.push((Algorithm::HS256, DecodingKey::from_secret(bytes)));
            minter = Some(TokenMinter {
                algorithm: Algorithm::HS256,
                key: EncodingKey::from_secret(bytes),
            });
        }
        if let Some(pem) = public_key_pem {
            let pem = pem.as_bytes();
            let verifier = DecodingKey::from_ed_pem(pem)
                .map(|k| (Algorithm::EdDSA, k))
                .or_else(|_| DecodingKey::from_rsa_pem(pem).map(|k| (Algorithm::RS256, k)))
                .map_err(|_| JwtKeysError::BadPublicKey)?;
            verifiers.push(verifier);
        }
        if let Some(pem) = signing_key_pem {
            let pem = pem.expose_secret().as_bytes();
            let signer = EncodingKey::from_ed_pem(pem)
                .map(|k| TokenMinter {
                    algorithm: Algorithm::EdDSA,
                    key: k,
                })
                .or_else(|_| {
                    EncodingKey::from_rsa_pem(pem).map(|k| TokenMinter {
                        algorithm: Algorithm::RS256,
                        key: k,
                    })
                })
                .map_err(|_| JwtKeysError::BadSigningKey)?;
            minter = Some(signer);
        }
        if minter.is_none() {
            return Err(JwtKeysError::NoSigningKey);
        }
        Ok(Self {
            verifiers,
            audience: audience.into(),
            minter,
        })
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    pub fn minter(&self) -> Option<&TokenMinter> {
        self.minter.as_ref()
    }

    /// Verifies signature, expiry (30 s leeway) and audience; the message says what to fix, never the token.
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| "the bearer token is not a JWT".to_string())?;
        let Some((alg, key)) = self.verifiers.iter().find(|(alg, _)| *alg == header.alg) else {
            return Err(format!(
                "tokens signed with {:?} are not accepted here",
                header.alg
            ));
        };
        let mut validation = Validation::new(*alg);
        validation.leeway = 30;
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired: get a new one".to_string(),
                ErrorKind::InvalidAudience => format!("the token's audience is not `{}`", self.audience),
                ErrorKind::InvalidSignature => "the token's signature does not verify".to_string(),
                ErrorKind::MissingRequiredClaim(c) => format!("the token lacks the `{c}` claim"),
                ErrorKind::Json(_) => {
                    "the token's claims are malformed (unknown role or wrong type)".to_string()
                }
                _ => "the token is invalid".to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::claims::{OrgRole, SvcRole};

    fn keys() -> JwtKeys {
        JwtKeys::new(
            Some(&SecretString::from("s".repeat(32))),
            None,
            None,
            "ovice-slack",
        )
        .unwrap()
    }

    fn claims(exp_offset: i64, aud: &str) -> Claims {
        Claims {
            sub: "u1".into(),
            org: Some("o1".into()),
            email: None,
            org_role: Some(OrgRole::Owner),
            perms: vec![],
            space: None,
            space_role: None,
            svc_role: None,
            exp: chrono::Utc::now().timestamp() + exp_offset,
            iat: None,
            aud: aud.into(),
        }
    }

    #[test]
    fn accepts_own_tokens_and_names_each_failure() {
        let k = keys();
        let good = k.minter().unwrap().mint(&claims(60, "ovice-slack")).unwrap();
        assert_eq!(k.verify(&good).unwrap().org.as_deref(), Some("o1"));
        let expired = k.minter().unwrap().mint(&claims(-3600, "ovice-slack")).unwrap();
        assert!(k.verify(&expired).unwrap_err().contains("expired"));
        let wrong_aud = k.minter().unwrap().mint(&claims(60, "other")).unwrap();
        assert!(k.verify(&wrong_aud).unwrap_err().contains("audience"));
        let other = JwtKeys::new(
            Some(&SecretString::from("t".repeat(32))),
            None,
            None,
            "ovice-slack",
        )
        .unwrap();
        let forged = other.minter().unwrap().mint(&claims(60, "ovice-slack")).unwrap();
        assert!(k.verify(&forged).unwrap_err().contains("signature"));
        assert!(k.verify("garbage").unwrap_err().contains("not a JWT"));
        let mut svc = claims(60, "ovice-slack");
        svc.svc_role = Some(SvcRole::Service);
        let svc = k.minter().unwrap().mint(&svc).unwrap();
        assert_eq!(k.verify(&svc).unwrap().svc_role, Some(SvcRole::Service));
    }

    // A key pair made for this test only (openssl genpkey -algorithm ed25519).
    const ED_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIIFXt5VKl1nVuX/jCLZ14h0V/UlL4vhn8dA2FQpm/A7Y\n-----END PRIVATE KEY-----\n";
    const ED_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA4K4fKb32tqusU/vw2RoLpuVEXYoMPrU3fFOTUP4jRQA=\n-----END PUBLIC KEY-----\n";
    const OTHER_ED_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIGet0/57PLzFAAdYAJ5mKsjW1BrBKOXg8c5SFwG0o5NT\n-----END PRIVATE KEY-----\n";

    #[test]
    fn eddsa_tokens_verify_with_the_public_key_only() {
        crate::install_crypto_providers();
        // Production: only the platform's public key, and a signing key for the services' own calls.
        let k = JwtKeys::new(
            None,
            Some(ED_PUBLIC),
            Some(&SecretString::from(ED_PRIVATE)),
            "ovice-slack",
        )
        .unwrap();
        let token = k.minter().unwrap().mint(&claims(60, "ovice-slack")).unwrap();
        assert_eq!(k.verify(&token).unwrap().sub, "u1");
        let other = JwtKeys::new(
            None,
            None,
            Some(&SecretString::from(OTHER_ED_PRIVATE)),
            "ovice-slack",
        )
        .unwrap();
        let forged = other.minter().unwrap().mint(&claims(60, "ovice-slack")).unwrap();
        assert!(k.verify(&forged).unwrap_err().contains("signature"));
        // An HS256 token is not accepted where only EdDSA is configured (no algorithm confusion).
        let hs = keys().minter().unwrap().mint(&claims(60, "ovice-slack")).unwrap();
        assert!(k.verify(&hs).unwrap_err().contains("not accepted"));
        assert!(matches!(
            JwtKeys::new(None, Some("not a pem"), None, "a"),
            Err(JwtKeysError::BadPublicKey)
        ));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(matches!(
            JwtKeys::new(Some(&SecretString::from("short")), None, None, "a"),
            Err(JwtKeysError::SecretTooShort)
        ));
    }
}
