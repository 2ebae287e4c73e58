use std::fmt;

/// A Slack workspace domain: the `acme` of `acme.slack.com`, normalised and validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkspaceDomain(String);

impl WorkspaceDomain {
    /// Lowercases, strips `https://` (or `http://`), a trailing `/` and `.slack.com`, then requires
    /// `^[a-z0-9][a-z0-9-]{0,20}$`. The error says what a person should type instead.
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
        } else if lowered.contains("xox") {
            // Someone pasted a token into the domain field: never echo it back.
            Err("looks like a Slack token, not a workspace domain: enter only the `acme` part of acme.slack.com".into())
        } else {
            Err(format!(
                "`{}` is not a Slack workspace domain: enter only the `acme` part of acme.slack.com \
                 (letters, digits and `-`, at most 21 characters)",
                input.trim().chars().take(80).collect::<String>()
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

    #[test]
    fn a_token_in_the_domain_field_is_not_echoed() {
        let err = WorkspaceDomain::parse("xoxb-1234567890-1234567890123-AbCdSecret").unwrap_err();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn url_is_the_one_auth_test_reports() {
        assert_eq!(
            WorkspaceDomain::parse("acme").unwrap().url(),
            "https://acme.slack.com/"
        );
    }
}
