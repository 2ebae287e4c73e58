//! A link back to ovice, as it may appear in a Slack message.

/// The longest link accepted.
const MAX_LINK_BYTES: usize = 2_048;

/// Why a link back to ovice was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkUrlError {
    #[error("must be an absolute http or https URL")]
    NotHttp,
    #[error("is longer than {MAX_LINK_BYTES} bytes")]
    TooLong,
    #[error("must not contain whitespace or control characters")]
    Whitespace,
    #[error("must not contain a user name or password")]
    Credentials,
}

/// An http(s) link back to ovice that is safe inside Slack's `<url|label>`: no whitespace, and `|`,
/// `<`, `>` percent-encoded, so it cannot end the link early or start a mention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkUrl(String);

impl LinkUrl {
    pub fn parse(raw: &str) -> Result<Self, LinkUrlError> {
        if raw.len() > MAX_LINK_BYTES {
            return Err(LinkUrlError::TooLong);
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(LinkUrlError::Whitespace);
        }
        let url = url::Url::parse(raw).map_err(|_| LinkUrlError::NotHttp)?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(LinkUrlError::NotHttp);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(LinkUrlError::Credentials);
        }
        // The URL parser already percent-encodes `<`, `>` and spaces; `|` it keeps.
        let mut safe = String::with_capacity(url.as_str().len());
        for c in url.as_str().chars() {
            match c {
                '|' => safe.push_str("%7C"),
                '<' => safe.push_str("%3C"),
                '>' => safe.push_str("%3E"),
                c if c.is_whitespace() || c.is_control() => return Err(LinkUrlError::Whitespace),
                c => safe.push(c),
            }
        }
        if safe.len() > MAX_LINK_BYTES {
            return Err(LinkUrlError::TooLong);
        }
        Ok(Self(safe))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn links_must_be_http_and_cannot_break_out_of_the_link_syntax() {
        assert_eq!(
            LinkUrl::parse("https://o.example/a|b?q=<x>|y#f|g")
                .unwrap()
                .as_str(),
            "https://o.example/a%7Cb?q=%3Cx%3E%7Cy#f%7Cg"
        );
        assert_eq!(
            LinkUrl::parse("http://o.example").unwrap().as_str(),
            "http://o.example/"
        );
        for bad in [
            "javascript:alert(1)",
            "ftp://o.example/",
            "mailto:a@b.c",
            "/relative",
            "https://",
            "data:text/html,hi",
        ] {
            assert_eq!(LinkUrl::parse(bad), Err(LinkUrlError::NotHttp), "{bad}");
        }
        assert_eq!(
            LinkUrl::parse("https://o.example/a b"),
            Err(LinkUrlError::Whitespace)
        );
        assert_eq!(
            LinkUrl::parse("https://o.example/a\nb"),
            Err(LinkUrlError::Whitespace)
        );
        assert_eq!(
            LinkUrl::parse("https://u:p@o.example/"),
            Err(LinkUrlError::Credentials)
        );
        let long = format!("https://o.example/{}", "a".repeat(MAX_LINK_BYTES));
        assert_eq!(LinkUrl::parse(&long), Err(LinkUrlError::TooLong));
    }

    proptest! {
        #[test]
        fn links_are_http_and_inert_or_refused(raw in prop_oneof![
            any::<String>(),
            "(https?|javascript|data|ftp)://[ -~]{0,80}",
            "https://[a-z]{1,8}(:[0-9]{1,5})?/[ -~\u{80}-\u{10ffff}]{0,80}",
        ]) {
            if let Ok(link) = LinkUrl::parse(&raw) {
                let s = link.as_str();
                prop_assert!(s.starts_with("http://") || s.starts_with("https://"), "{s}");
                prop_assert!(!s.contains(['<', '>', '|']), "{s}");
                prop_assert!(!s.chars().any(|c| c.is_whitespace() || c.is_control()), "{s:?}");
                prop_assert!(s.len() <= MAX_LINK_BYTES);
            }
        }
    }
}
