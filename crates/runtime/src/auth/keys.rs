use std::{fmt, time::Duration};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use secrecy::{ExposeSecret, SecretString};

use super::{
    Caller,
    claims::{Claims, SvcRole},
    service_keys::ServiceKeySet,
};

/// Why JWT keys could not be set up. Never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum JwtKeysError {
    #[error("the JWT secret must be at least 32 bytes")]
    SecretTooShort,
    #[error("the JWT public key is neither an Ed25519 nor an RSA public key in PEM")]
    BadPublicKey,
}

/// Signs tokens with the platform's HS256 secret: the `token` subcommand, for development and
/// tests. Production platforms sign with their own private key, which no ovice-slack pod holds.
#[derive(Clone)]
pub struct TokenMinter {
    key: EncodingKey,
}

impl fmt::Debug for TokenMinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenMinter").finish_non_exhaustive()
    }
}

impl TokenMinter {
    pub fn mint(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.key)
    }
}

/// The keys the platform's tokens (people, the platform, operators) are verified with: an HS256
/// shared secret (embedded default) and/or the platform's EdDSA or RS256 public key (production).
#[derive(Clone, Default)]
pub struct PlatformKeys {
    verifiers: Vec<(Algorithm, DecodingKey)>,
    minter: Option<TokenMinter>,
}

impl fmt::Debug for PlatformKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let algs: Vec<_> = self.verifiers.iter().map(|(a, _)| a).collect();
        f.debug_struct("PlatformKeys").field("algorithms", &algs).finish()
    }
}

impl PlatformKeys {
    pub fn new(secret: Option<&SecretString>, public_key_pem: Option<&str>) -> Result<Self, JwtKeysError> {
        let mut keys = Self::default();
        if let Some(secret) = secret {
            let bytes = secret.expose_secret().as_bytes();
            if bytes.len() < 32 {
                return Err(JwtKeysError::SecretTooShort);
            }
            keys.verifiers
                .push((Algorithm::HS256, DecodingKey::from_secret(bytes)));
            keys.minter = Some(TokenMinter {
                key: EncodingKey::from_secret(bytes),
            });
        }
        if let Some(pem) = public_key_pem {
            let pem = pem.as_bytes();
            let verifier = DecodingKey::from_ed_pem(pem)
                .map(|k| (Algorithm::EdDSA, k))
                .or_else(|_| DecodingKey::from_rsa_pem(pem).map(|k| (Algorithm::RS256, k)))
                .map_err(|_| JwtKeysError::BadPublicKey)?;
            keys.verifiers.push(verifier);
        }
        Ok(keys)
    }

    /// The HS256 minter, when the shared secret is configured.
    pub fn minter(&self) -> Option<&TokenMinter> {
        self.minter.as_ref()
    }

    pub fn is_empty(&self) -> bool {
        self.verifiers.is_empty()
    }
}

/// The longest a token may live (`exp` minus `iat`, and `exp` minus now) unless configured otherwise:
/// a leaked token stops working within a day.
pub const DEFAULT_MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Clock skew allowed on `exp` and `nbf`, in seconds.
const LEEWAY_SECS: u64 = 30;

/// Verifies every bearer token: a token whose `kid` is in the service key set is a service's own
/// (EdDSA, checked against that key, acting only as the key's targets); any other is the platform's,
/// and the platform's keys can never make a `service` caller.
#[derive(Clone)]
pub struct JwtKeys {
    platform: PlatformKeys,
    services: ServiceKeySet,
    audience: String,
    max_lifetime: Duration,
    /// Service tokens already verified, with their expiry: a service reuses its token for minutes, and
    /// an Ed25519 check costs about ten HS256 checks. The same string is the same signature, and the
    /// key set does not change while the process runs.
    verified_services: moka::sync::Cache<String, (Caller, i64)>,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeys")
            .field("platform", &self.platform)
            .field("services", &self.services)
            .field("audience", &self.audience)
            .field("max_lifetime", &self.max_lifetime)
            .finish_non_exhaustive()
    }
}

/// Service tokens remembered as verified (a few per peer process: they are renewed every few
/// minutes).
const VERIFIED_SERVICE_TOKENS: u64 = 1024;

impl JwtKeys {
    pub fn new(platform: PlatformKeys, services: ServiceKeySet, audience: impl Into<String>) -> Self {
        Self {
            platform,
            services,
            audience: audience.into(),
            max_lifetime: DEFAULT_MAX_TOKEN_LIFETIME,
            verified_services: moka::sync::Cache::builder()
                .max_capacity(VERIFIED_SERVICE_TOKENS)
                .time_to_live(Duration::from_secs(15 * 60))
                .build(),
        }
    }

    /// Tokens that live longer than `max` are refused.
    pub fn with_max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = max;
        self
    }

    pub fn max_lifetime(&self) -> Duration {
        self.max_lifetime
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    pub fn platform(&self) -> &PlatformKeys {
        &self.platform
    }

    /// Verifies signature, expiry and `nbf` (30 s leeway), audience and lifetime, and who may have
    /// signed it; the message says what to fix, never the token.
    pub fn verify(&self, token: &str) -> Result<Caller, String> {
        let now = chrono::Utc::now().timestamp();
        if let Some((caller, exp)) = self.verified_services.get(token)
            && exp > now - LEEWAY_SECS as i64
        {
            return Ok(caller);
        }
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| "the bearer token is not a JWT".to_string())?;
        if let Some((targets, key)) = header.kid.as_deref().and_then(|kid| self.services.get(kid)) {
            if header.alg != Algorithm::EdDSA {
                return Err("a service token must be signed with EdDSA".into());
            }
            let claims = self.decode(token, Algorithm::EdDSA, key)?;
            let expected = format!("ovice-slack/{targets}");
            if claims.svc_role != Some(SvcRole::Service) || claims.sub != expected {
                return Err(format!(
                    "a service key signs only its service's own tokens (`svc_role` service, `sub` {expected})"
                ));
            }
            let exp = claims.exp;
            let caller = Caller::from_claims(claims, Some(targets.clone()));
            self.verified_services
                .insert(token.to_owned(), (caller.clone(), exp));
            return Ok(caller);
        }
        let Some((alg, key)) = self.platform.verifiers.iter().find(|(alg, _)| *alg == header.alg) else {
            return Err(match header.kid {
                Some(_) if header.alg == Algorithm::EdDSA => {
                    "the token's key id is not in the service key set, and the platform does not sign with EdDSA here"
                        .to_string()
                }
                _ => format!("tokens signed with {:?} are not accepted here", header.alg),
            });
        };
        let claims = self.decode(token, *alg, key)?;
        if claims.svc_role == Some(SvcRole::Service) {
            return Err(
                "`svc_role` service is only for ovice-slack's own services, signed with their own keys; the platform's key cannot make one"
                    .into(),
            );
        }
        Ok(Caller::from_claims(claims, None))
    }

    fn decode(&self, token: &str, alg: Algorithm, key: &DecodingKey) -> Result<Claims, String> {
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired: get a new one".to_string(),
                ErrorKind::ImmatureSignature => {
                    "the token is not valid yet (`nbf` is in the future)".to_string()
                }
                ErrorKind::InvalidAudience => format!("the token's audience is not `{}`", self.audience),
                ErrorKind::InvalidSignature => "the token's signature does not verify".to_string(),
                ErrorKind::MissingRequiredClaim(c) => format!("the token lacks the `{c}` claim"),
                ErrorKind::Json(_) => {
                    "the token's claims are malformed (unknown role or wrong type)".to_string()
                }
                _ => "the token is invalid".to_string(),
            })?;
        self.check_lifetime(&claims, chrono::Utc::now().timestamp())?;
        Ok(claims)
    }

    /// A token that lives longer than allowed is refused, however it was signed: counted from `iat`
    /// when given, and from now in any case (a token without `iat` cannot claim a short life).
    fn check_lifetime(&self, claims: &Claims, now: i64) -> Result<(), String> {
        let max = i64::try_from(self.max_lifetime.as_secs()).unwrap_or(i64::MAX);
        let leeway = LEEWAY_SECS as i64;
        let from_issue = claims.iat.map(|iat| claims.exp.saturating_sub(iat));
        let from_now = claims.exp.saturating_sub(now);
        if from_issue.is_some_and(|l| l > max.saturating_add(leeway)) || from_now > max.saturating_add(leeway)
        {
            return Err(format!(
                "the token lives longer than the {} this service accepts: get a shorter-lived one",
                humantime::format_duration(self.max_lifetime)
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{ServiceKey, claims::OrgRole};

    fn platform(secret: &str) -> PlatformKeys {
        PlatformKeys::new(Some(&SecretString::from(secret)), None).unwrap()
    }

    fn keys() -> JwtKeys {
        JwtKeys::new(platform(&"s".repeat(32)), ServiceKeySet::default(), "ovice-slack")
    }

    fn mint(k: &JwtKeys, c: &Claims) -> String {
        k.platform().minter().unwrap().mint(c).unwrap()
    }

    fn claims(exp_offset: i64, aud: &str) -> Claims {
        Claims {
            sub: "u1".into(),
            org: Some("o1".into()),
            email: None,
            email_verified: None,
            org_role: Some(OrgRole::Owner),
            perms: vec![],
            space: None,
            space_role: None,
            svc_role: None,
            exp: chrono::Utc::now().timestamp() + exp_offset,
            iat: None,
            nbf: None,
            aud: aud.into(),
            locale: None,
        }
    }

    fn service_claims(sub: &str) -> Claims {
        Claims {
            sub: sub.into(),
            org: None,
            org_role: None,
            svc_role: Some(SvcRole::Service),
            ..claims(60, "ovice-slack")
        }
    }

    #[test]
    fn refuses_a_token_not_yet_valid_or_living_too_long() {
        let k = keys().with_max_lifetime(Duration::from_secs(3600));
        let now = chrono::Utc::now().timestamp();
        let mut early = claims(60, "ovice-slack");
        early.nbf = Some(now + 600);
        assert!(k.verify(&mint(&k, &early)).unwrap_err().contains("not valid yet"));
        early.nbf = Some(now - 10);
        assert!(k.verify(&mint(&k, &early)).is_ok(), "valid once nbf has passed");
        // Over the maximum counted from now (no iat), and counted from iat.
        let long = claims(2 * 3600, "ovice-slack");
        assert!(
            k.verify(&mint(&k, &long))
                .unwrap_err()
                .contains("lives longer than the 1h")
        );
        let mut issued_long_ago = claims(60, "ovice-slack");
        issued_long_ago.iat = Some(now - 3 * 3600);
        assert!(
            k.verify(&mint(&k, &issued_long_ago))
                .unwrap_err()
                .contains("lives longer")
        );
        let mut at_the_limit = claims(3600, "ovice-slack");
        at_the_limit.iat = Some(now);
        assert!(k.verify(&mint(&k, &at_the_limit)).is_ok());
        // The default allows a day and no more.
        let day = keys();
        assert!(
            day.verify(&mint(&day, &claims(48 * 3600, "ovice-slack")))
                .is_err()
        );
    }

    #[test]
    fn accepts_platform_tokens_and_names_each_failure() {
        let k = keys();
        let good = mint(&k, &claims(60, "ovice-slack"));
        let caller = k.verify(&good).unwrap();
        assert_eq!(caller.org.as_deref(), Some("o1"));
        assert_eq!(caller.service, None);
        let expired = mint(&k, &claims(-3600, "ovice-slack"));
        assert!(k.verify(&expired).unwrap_err().contains("expired"));
        let wrong_aud = mint(&k, &claims(60, "other"));
        assert!(k.verify(&wrong_aud).unwrap_err().contains("audience"));
        let other = JwtKeys::new(platform(&"t".repeat(32)), ServiceKeySet::default(), "ovice-slack");
        let forged = mint(&other, &claims(60, "ovice-slack"));
        assert!(k.verify(&forged).unwrap_err().contains("signature"));
        assert!(k.verify("garbage").unwrap_err().contains("not a JWT"));
    }

    #[test]
    fn the_platforms_key_never_makes_a_service_caller() {
        let (key, _) = ServiceKey::generate("delivery".parse().unwrap()).unwrap();
        let k = JwtKeys::new(
            platform(&"s".repeat(32)),
            ServiceKeySet::default().with(&key),
            "ovice-slack",
        );
        for sub in ["ovice-slack/delivery", "anything"] {
            let forged = mint(&k, &service_claims(sub));
            assert!(k.verify(&forged).unwrap_err().contains("platform's key cannot"));
        }
        // Naming a service key's id in the header of a platform-signed token does not help: the
        // token is checked against that key, as EdDSA only.
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.kid().to_owned());
        let secret = EncodingKey::from_secret("s".repeat(32).as_bytes());
        let with_kid =
            jsonwebtoken::encode(&header, &service_claims("ovice-slack/delivery"), &secret).unwrap();
        assert!(k.verify(&with_kid).unwrap_err().contains("EdDSA"));
    }

    #[test]
    fn a_service_key_acts_only_as_its_own_targets() {
        let (delivery, _) = ServiceKey::generate("delivery".parse().unwrap()).unwrap();
        let (stranger, _) = ServiceKey::generate("delivery".parse().unwrap()).unwrap();
        let k = JwtKeys::new(
            platform(&"s".repeat(32)),
            ServiceKeySet::default().with(&delivery),
            "ovice-slack",
        );
        let token = delivery.mint(&service_claims("ovice-slack/delivery")).unwrap();
        let caller = k.verify(&token).unwrap();
        assert_eq!(caller.service, Some("delivery".parse().unwrap()));
        // The second call is answered from the verified tokens; a changed byte is not.
        assert_eq!(k.verify(&token).unwrap(), caller);
        let mut altered = token.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert!(k.verify(&String::from_utf8(altered).unwrap()).is_err());
        assert_eq!(caller.svc_role, Some(SvcRole::Service));
        // Another subject, another role, or a key not in the set: refused.
        let as_gateway = delivery.mint(&service_claims("ovice-slack/gateway")).unwrap();
        assert!(
            k.verify(&as_gateway)
                .unwrap_err()
                .contains("only its service's own")
        );
        let as_person = delivery.mint(&claims(60, "ovice-slack")).unwrap();
        assert!(
            k.verify(&as_person)
                .unwrap_err()
                .contains("only its service's own")
        );
        let unknown = stranger.mint(&service_claims("ovice-slack/delivery")).unwrap();
        assert!(
            k.verify(&unknown)
                .unwrap_err()
                .contains("not in the service key set")
        );
    }

    // A key pair made for this test only (openssl genpkey -algorithm ed25519).
    const ED_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIIFXt5VKl1nVuX/jCLZ14h0V/UlL4vhn8dA2FQpm/A7Y\n-----END PRIVATE KEY-----\n";
    const ED_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA4K4fKb32tqusU/vw2RoLpuVEXYoMPrU3fFOTUP4jRQA=\n-----END PUBLIC KEY-----\n";
    const OTHER_ED_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIGet0/57PLzFAAdYAJ5mKsjW1BrBKOXg8c5SFwG0o5NT\n-----END PRIVATE KEY-----\n";

    fn platform_signed(private_pem: &str, c: &Claims) -> String {
        let key = EncodingKey::from_ed_pem(private_pem.as_bytes()).unwrap();
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), c, &key).unwrap()
    }

    #[test]
    fn eddsa_platform_tokens_verify_with_the_public_key_only() {
        crate::install_crypto_providers();
        // Production: only the platform's public key.
        let k = JwtKeys::new(
            PlatformKeys::new(None, Some(ED_PUBLIC)).unwrap(),
            ServiceKeySet::default(),
            "ovice-slack",
        );
        assert!(
            k.platform().minter().is_none(),
            "no ovice-slack pod can sign as the platform"
        );
        let token = platform_signed(ED_PRIVATE, &claims(60, "ovice-slack"));
        assert_eq!(k.verify(&token).unwrap().subject, "u1");
        let forged = platform_signed(OTHER_ED_PRIVATE, &claims(60, "ovice-slack"));
        assert!(k.verify(&forged).unwrap_err().contains("signature"));
        // The platform's private key cannot make a service caller either.
        let svc = platform_signed(ED_PRIVATE, &service_claims("ovice-slack/delivery"));
        assert!(k.verify(&svc).unwrap_err().contains("platform's key cannot"));
        // An HS256 token is not accepted where only EdDSA is configured (no algorithm confusion).
        let hs = mint(&keys(), &claims(60, "ovice-slack"));
        assert!(k.verify(&hs).unwrap_err().contains("not accepted"));
        assert!(matches!(
            PlatformKeys::new(None, Some("not a pem")),
            Err(JwtKeysError::BadPublicKey)
        ));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(matches!(
            PlatformKeys::new(Some(&SecretString::from("short")), None),
            Err(JwtKeysError::SecretTooShort)
        ));
    }
}

#[cfg(test)]
mod proptests {
    //! The JWT check against arbitrary and tampered input: it never panics, and nothing but an
    //! untouched token signed with our key verifies.
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use proptest::prelude::*;

    use super::*;
    use crate::auth::{OrgRole, SpaceRole, SvcRole};

    const SECRET: &str = "proptest-secret-proptest-secret-0123456789";

    fn keys() -> JwtKeys {
        JwtKeys::new(
            PlatformKeys::new(Some(&SecretString::from(SECRET)), None).unwrap(),
            ServiceKeySet::default(),
            "ovice-slack",
        )
    }

    prop_compose! {
        fn claims()(
            sub in "[ -~]{1,20}",
            org in prop::option::of(any::<String>()),
            email in prop::option::of("[a-z]{1,8}@[a-z]{1,8}\\.test"),
            email_verified in prop::option::of(any::<bool>()),
            owner in prop::option::of(any::<bool>()),
            perms in prop::collection::vec("[a-z.]{1,20}", 0..3),
            space in prop::option::of("[a-z0-9-]{1,10}"),
            space_role in prop::option::of(0..3u8),
            svc_role in prop::option::of(0..3u8),
        ) -> Claims {
            Claims {
                sub,
                org,
                email,
                email_verified,
                org_role: owner.map(|o| if o { OrgRole::Owner } else { OrgRole::Member }),
                perms,
                space,
                space_role: space_role.map(|r| [SpaceRole::Admin, SpaceRole::Member, SpaceRole::Visitor][r as usize]),
                svc_role: svc_role.map(|r| [SvcRole::Platform, SvcRole::Service, SvcRole::Operator][r as usize]),
                exp: chrono::Utc::now().timestamp() + 3600,
                iat: None,
                nbf: None,
                aud: "ovice-slack".into(),
                locale: None,
            }
        }
    }

    /// Ways to change a token: each yields a different string.
    #[derive(Clone, Debug)]
    enum Tamper {
        /// Replace the character at (index mod len) with another base64url character.
        Flip(usize, u8),
        Truncate(usize),
        Append(String),
        /// Re-encode the header with another `alg` (keeping payload and signature).
        Alg(&'static str),
        /// Re-encode the payload with a field changed (keeping header and signature).
        Claim(&'static str, serde_json::Value),
        /// Drop the signature.
        Unsigned,
    }

    fn tamper() -> impl Strategy<Value = Tamper> {
        prop_oneof![
            4 => (any::<usize>(), any::<u8>()).prop_map(|(i, c)| Tamper::Flip(i, c)),
            1 => (1usize..40).prop_map(Tamper::Truncate),
            1 => "[A-Za-z0-9._=-]{1,8}".prop_map(Tamper::Append),
            1 => prop::sample::select(vec!["none", "None", "HS512", "HS384", "RS256", "EdDSA", "ES256", ""]).prop_map(Tamper::Alg),
            1 => prop_oneof![
                Just(("org", serde_json::json!("org-2"))),
                Just(("svc_role", serde_json::json!("service"))),
                Just(("org_role", serde_json::json!("owner"))),
                Just(("exp", serde_json::json!(i64::MAX))),
                Just(("aud", serde_json::json!("ovice-slack"))),
                Just(("perms", serde_json::json!(["integrations.manage"]))),
            ].prop_map(|(k, v)| Tamper::Claim(k, v)),
            1 => Just(Tamper::Unsigned),
        ]
    }

    const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    fn reencode(part: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut value: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap();
        edit(&mut value);
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&value).unwrap())
    }

    fn apply(token: &str, t: &Tamper) -> String {
        let parts: Vec<&str> = token.split('.').collect();
        match t {
            Tamper::Flip(i, c) => {
                let mut bytes = token.as_bytes().to_vec();
                let i = i % bytes.len();
                let mut replacement = B64URL[*c as usize % B64URL.len()];
                if replacement == bytes[i] {
                    replacement = if bytes[i] == b'A' { b'B' } else { b'A' };
                }
                bytes[i] = replacement;
                String::from_utf8(bytes).unwrap()
            }
            Tamper::Truncate(n) => token[..token.len().saturating_sub(*n)].to_owned(),
            Tamper::Append(s) => format!("{token}{s}"),
            Tamper::Alg(alg) => {
                let header = reencode(parts[0], |h| h["alg"] = serde_json::json!(alg));
                format!("{header}.{}.{}", parts[1], parts[2])
            }
            Tamper::Claim(k, v) => {
                let payload = reencode(parts[1], |p| p[*k] = v.clone());
                format!("{}.{payload}.{}", parts[0], parts[2])
            }
            Tamper::Unsigned => format!("{}.{}.", parts[0], parts[1]),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_strings_never_verify(s in prop_oneof![
            any::<String>(),
            "[A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,50}",
            // A well-formed header of each algorithm, with arbitrary claims and signature.
            (prop::sample::select(vec!["none", "HS256", "RS256", "EdDSA"]), any::<Vec<u8>>(), any::<Vec<u8>>())
                .prop_map(|(alg, claims, sig)| format!(
                    "{}.{}.{}",
                    URL_SAFE_NO_PAD.encode(format!("{{\"alg\":\"{alg}\",\"typ\":\"JWT\"}}")),
                    URL_SAFE_NO_PAD.encode(claims),
                    URL_SAFE_NO_PAD.encode(sig),
                )),
        ]) {
            let error = keys().verify(&s).unwrap_err();
            // The reason never repeats the token (a dotted one: no fixed reason has a dot).
            if s.len() > 8 && s.contains('.') {
                prop_assert!(!error.contains(&s), "{error}");
            }
        }

        #[test]
        fn our_tokens_verify_and_every_tampered_one_fails(c in claims(), t in tamper()) {
            let k = keys();
            let token = k.platform().minter().unwrap().mint(&c).unwrap();
            if c.svc_role == Some(SvcRole::Service) {
                // The platform's key never makes a service caller, whatever else the token says.
                prop_assert!(k.verify(&token).is_err());
                return Ok(());
            }
            prop_assert_eq!(k.verify(&token).unwrap(), Caller::from_claims(c, None));
            let tampered = apply(&token, &t);
            prop_assume!(tampered != token);
            let result = k.verify(&tampered);
            prop_assert!(result.is_err(), "{t:?} verified: {tampered}");
        }
    }
}
