//! The JWT check on arbitrary bearer values: it never panics and never accepts. The seed corpus
//! (scripts/fuzz-smoke.sh) holds correctly signed tokens for another audience, so mutations start
//! from inputs that pass the signature check and fail later.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ovice_slack_runtime::auth::{JwtKeys, PlatformKeys, ServiceKey, ServiceKeySet};
use secrecy::SecretString;

pub const SECRET: &str = "fuzz-secret-fuzz-secret-fuzz-secret-01";

fn keys() -> &'static JwtKeys {
    static KEYS: OnceLock<JwtKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let platform = PlatformKeys::new(Some(&SecretString::from(SECRET)), None).expect("keys");
        // A service key too, so that inputs naming a key id reach the service path.
        let (service, _) = ServiceKey::generate("delivery".parse().expect("target")).expect("key");
        JwtKeys::new(platform, ServiceKeySet::default().with(&service), "ovice-slack")
    })
}

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let result = keys().verify(&token);
    assert!(result.is_err(), "an input nobody signed verified: {token:?}");
    if let Err(reason) = result {
        // A JWT has dots; none of the fixed reasons does, so a dotted input found in one is an echo.
        let token_like = token.len() >= 16 && token.contains('.');
        assert!(
            !token_like || !reason.contains(token.as_ref()),
            "the reason repeats the token"
        );
    }
});
