#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step should fail the test loudly

//! Property tests of what an owner types into the Slack settings (docs/product.md §2.1): the workspace domain
//! and the bot token are checked before anything reaches Slack or the store; nothing panics, every
//! refusal names its field, and no refusal repeats the token.

use integration_config::{
    app::{AppCredentials, PutWorkspace},
    domain::{WorkspaceDomain, check_token_shape},
};
use proptest::prelude::*;

fn label() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9-]{0,20}"
}

fn is_label(s: &str) -> bool {
    (1..=21).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn a_parsed_domain_is_always_a_bare_label(input in prop_oneof![
        any::<String>(),
        "[ -~]{0,40}",
        "(https?://)?[a-zA-Z0-9.:/@?#%-]{0,30}(\\.slack\\.com)?/?",
    ]) {
        match WorkspaceDomain::parse(&input) {
            Ok(d) => {
                prop_assert!(is_label(d.as_str()), "{input:?} -> {d:?}");
                // Normalising is idempotent.
                prop_assert_eq!(WorkspaceDomain::parse(d.as_str()).unwrap(), d.clone());
                prop_assert_eq!(d.url(), format!("https://{}.slack.com/", d.as_str()));
            }
            Err(message) => {
                // The error quotes at most 80 characters of what was typed.
                prop_assert!(message.chars().count() <= 80 + 200, "{message}");
            }
        }
    }

    #[test]
    fn a_label_in_any_spelling_normalises_to_itself(
        l in label(),
        scheme in prop_oneof![Just(""), Just("https://"), Just("http://"), Just("HTTPS://")],
        suffix in prop_oneof![Just(""), Just(".slack.com"), Just(".slack.com/"), Just(".SLACK.COM/")],
        upper in any::<bool>(),
        pad in "[ \t]{0,2}",
    ) {
        let l2 = if upper { l.to_uppercase() } else { l.clone() };
        let typed = format!("{pad}{scheme}{l2}{suffix}{pad}");
        let parsed = WorkspaceDomain::parse(&typed).unwrap();
        prop_assert_eq!(parsed.as_str(), l.as_str());
    }

    #[test]
    fn a_domain_with_a_path_port_query_or_credentials_is_refused(
        l in label(),
        extra in prop_oneof![
            "/[a-z0-9/]{1,10}",
            ":[0-9]{1,5}",
            "\\?[a-z=&]{0,10}",
            "#[a-z]{0,5}",
            Just(".slack.com/messages".to_owned()),
            Just(".slack.com:443".to_owned()),
            Just(".example.com".to_owned()),
        ],
        userinfo in prop::option::of("[a-z]{1,5}(:[a-z]{1,5})?@"),
    ) {
        let typed = format!("https://{}{l}{extra}", userinfo.unwrap_or_default());
        prop_assert!(WorkspaceDomain::parse(&typed).is_err(), "{typed} accepted");
    }

    #[test]
    fn a_put_request_is_checked_field_by_field_and_never_repeats_the_token(
        org in "[a-z0-9-]{1,10}",
        token in prop_oneof![
            "xoxb-[A-Za-z0-9-]{10,40}",
            "xox[pae]-[A-Za-z0-9-]{10,40}",
            any::<String>(),
            "xoxb-[a-z]{4} [a-z]{4}",
            (250usize..260).prop_map(|n| format!("xoxb-{}", "a".repeat(n))),
        ],
        domain in prop_oneof![label(), any::<String>(), "[a-z]{2,6}(/|:)[a-z0-9]{1,5}"],
    ) {
        let domain_ok = WorkspaceDomain::parse(&domain).is_ok();
        let token_ok = check_token_shape(&token).is_ok();
        match PutWorkspace::new(org.as_str().into(), &token, &domain, AppCredentials::default()) {
            Ok(put) => {
                prop_assert!(domain_ok && token_ok);
                prop_assert!(put.token_is(&token));
            }
            Err(errors) => {
                prop_assert!(!(domain_ok && token_ok));
                prop_assert_eq!(errors.len(), usize::from(!domain_ok) + usize::from(!token_ok));
                for e in &errors {
                    let text = e.to_string();
                    prop_assert!(text.starts_with("workspace_domain ") || text.starts_with("access_token "), "{text}");
                    let secret = token.trim();
                    if secret.len() >= 8 && !domain.contains(secret) {
                        prop_assert!(!text.contains(secret), "the token appears in {text:?}");
                    }
                }
            }
        }
    }
}

trait TokenIs {
    fn token_is(&self, token: &str) -> bool;
}

impl TokenIs for PutWorkspace {
    fn token_is(&self, token: &str) -> bool {
        use secrecy::ExposeSecret;
        self.token.expose_secret() == token.trim()
    }
}
