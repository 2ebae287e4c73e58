use std::fmt;

/// A Slack workspace domain: the `acme` of `acme.slack.com`, normalised and validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkspaceDomain(String);

impl WorkspaceDomain {
    /// Lowercases, strips `https://` (or `http://`), a trailing `/` and `.slack.com`, then requires
    /// `^[a-z0-9][a-z0-9-]{0,20}$`. The error says what a person should type instead, and never
    /// quotes the input: whatever was pasted (a bot token, an app token, a client secret) must not
    /// come back in an error that clients log.
    pub fn parse(input: &str) -> Result<Self, String> {
        let lowered = input.trim().to_ascii_lowercase();
        let mut s = lowered.as_str();
        for scheme in ["https://", "http://"] {
            if let Some(rest) = s.strip_prefix(scheme) {
                s = rest;
            }
        }
        s = s.strip_suffix('/').unwrap_or(s);
        s = s.strip_suffix(".slack.com").unwrap_or(s);
        let valid = s.len() <= 21
            && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if valid {
            Ok(Self(s.to_owned()))
        } else if s.is_empty() {
            Err("is required: enter the `acme` part of acme.slack.com".into())
        } else if lowered.contains("xox") || lowered.contains("xapp-") {
            Err("looks like a Slack token, not a workspace domain: enter only the `acme` part of acme.slack.com".into())
        } else {
            let problem = if s.len() > 21 {
                "is longer than 21 characters"
            } else {
                "may hold only letters, digits and `-`, starting with a letter or digit"
            };
            Err(format!(
                "is not a Slack workspace domain: it {problem}; enter only the `acme` part of acme.slack.com"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The workspace URL as Slack's `auth.test` reports it.
    pub fn url(&self) -> String {
        format!("https://{}.slack.com/", self.0)
    }
}

impl fmt::Display for WorkspaceDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("acme", "acme")]
    #[case("ACME", "acme")]
    #[case("acme.slack.com", "acme")]
    #[case("https://acme.slack.com/", "acme")]
    #[case("  https://Acme-Corp.slack.com  ", "acme-corp")]
    #[case("a", "a")]
    #[case("0-team", "0-team")]
    #[case("abcdefghijklmnopqrstu", "abcdefghijklmnopqrstu")]
    fn normalises(#[case] input: &str, #[case] expected: &str) {
        assert_eq!(WorkspaceDomain::parse(input).unwrap().as_str(), expected);
    }

    #[rstest]
    #[case("")]
    #[case("-acme")]
    #[case("acme.slack.com/messages")]
    #[case("acme.slack.com:443")]
    #[case("acme corp")]
    #[case("abcdefghijklmnopqrstuv")]
    #[case("acme.example.com")]
    #[case("ácme")]
    #[case("https://")]
    fn refuses(#[case] input: &str) {
        assert!(
            WorkspaceDomain::parse(input).is_err(),
            "{input} should be refused"
        );
    }

    /// Tokens, an app-level token, a client secret, a signing secret, a key: none comes back.
    #[rstest]
    #[case("xoxb-1234567890-1234567890123-AbCdSecretValue")]
    #[case("xoxp-1234567890-1234567890123-AbCdSecretValue")]
    #[case("xapp-1-A0123456789-1234567890123-0123456789abcdef0123456789abcdef")]
    #[case("0123456789abcdef0123456789abcdef")]
    #[case("8f14e45fceea167a5a36dedd4bea2543")]
    #[case("-----BEGIN PRIVATE KEY----- MC4CAQAwBQYDK2VwBCIEIA")]
    #[case("acme.slack.com/secret-path")]
    fn nothing_pasted_into_the_domain_field_is_echoed(#[case] input: &str) {
        let err = WorkspaceDomain::parse(input).unwrap_err();
        let lowered = err.to_lowercase();
        for piece in input.split(|c: char| !c.is_ascii_alphanumeric()) {
            if piece.len() >= 8 {
                assert!(!lowered.contains(&piece.to_lowercase()), "{piece} in {err}");
            }
        }
    }

    #[test]
    fn url_is_the_one_auth_test_reports() {
        assert_eq!(
            WorkspaceDomain::parse("acme").unwrap().url(),
            "https://acme.slack.com/"
        );
    }
}
