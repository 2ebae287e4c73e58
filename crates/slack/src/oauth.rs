//! OAuth v2 helpers: the authorize URL with its documented parameters, PKCE (S256) and state.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use url::Url;

/// Parameters of `https://slack.com/oauth/v2/authorize`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizeParams {
    pub client_id: String,
    /// Bot scopes (`scope`); empty for a user-token-only install.
    pub scopes: Vec<String>,
    /// User scopes (`user_scope`), e.g. `chat:write`, `im:write`.
    pub user_scopes: Vec<String>,
    pub redirect_uri: String,
    /// Single-use, unguessable; comes back on the redirect.
    pub state: String,
    /// Preselects (and restricts to) this workspace.
    pub team: Option<String>,
    /// PKCE S256 challenge (`code_challenge_method=S256` is added).
    pub code_challenge: Option<String>,
}

impl AuthorizeParams {
    /// The authorize URL on `authorize_endpoint` (Slack's, or the emulator's `authorize_url()`).
    pub fn to_url(&self, authorize_endpoint: &Url) -> Url {
        let mut url = authorize_endpoint.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &self.client_id);
            if !self.scopes.is_empty() {
                q.append_pair("scope", &self.scopes.join(","));
            }
            if !self.user_scopes.is_empty() {
                q.append_pair("user_scope", &self.user_scopes.join(","));
            }
            q.append_pair("redirect_uri", &self.redirect_uri);
            q.append_pair("state", &self.state);
            if let Some(team) = &self.team {
                q.append_pair("team", team);
            }
            if let Some(challenge) = &self.code_challenge {
                q.append_pair("code_challenge", challenge);
                q.append_pair("code_challenge_method", "S256");
            }
        }
        url
    }
}

/// A PKCE pair: keep the verifier secret until the code exchange, send the challenge.
#[derive(Debug, Clone)]
pub struct Pkce {
    pub verifier: SecretString,
    pub challenge: String,
}

impl Pkce {
    /// 32 random bytes as a 43-character base64url verifier (RFC 7636's recommended length).
    pub fn generate() -> Pkce {
        let verifier = random_token(32);
        let challenge = s256_challenge(&verifier);
        Pkce {
            verifier: SecretString::from(verifier),
            challenge,
        }
    }

    pub fn from_verifier(verifier: SecretString) -> Pkce {
        let challenge = s256_challenge(verifier.expose_secret());
        Pkce { verifier, challenge }
    }
}

/// base64url(SHA-256(verifier)) without padding.
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A random OAuth `state` value (32 bytes, base64url).
pub fn random_state() -> String {
    random_token(32)
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc7636() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn generated_pairs_are_fresh_and_consistent() {
        let a = Pkce::generate();
        let b = Pkce::generate();
        assert_eq!(a.verifier.expose_secret().len(), 43);
        assert_ne!(a.verifier.expose_secret(), b.verifier.expose_secret());
        assert_eq!(a.challenge, s256_challenge(a.verifier.expose_secret()));
        assert!(!format!("{a:?}").contains(a.verifier.expose_secret()));
        assert_ne!(random_state(), random_state());
    }

    #[test]
    fn authorize_url_carries_the_documented_parameters() {
        let params = AuthorizeParams {
            client_id: "111.222".into(),
            user_scopes: vec!["chat:write".into(), "im:write".into()],
            redirect_uri: "http://127.0.0.1:8090/oauth/slack/callback".into(),
            state: "s1".into(),
            team: Some("T0ACME".into()),
            code_challenge: Some("ch".into()),
            ..Default::default()
        };
        let url = params.to_url(&Url::parse("https://slack.com/oauth/v2/authorize").unwrap());
        assert_eq!(
            url.as_str(),
            "https://slack.com/oauth/v2/authorize?client_id=111.222&user_scope=chat%3Awrite%2Cim%3Awrite\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A8090%2Foauth%2Fslack%2Fcallback&state=s1&team=T0ACME\
             &code_challenge=ch&code_challenge_method=S256"
        );
    }
}
