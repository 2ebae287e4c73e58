//! The workspace-domain parser on arbitrary input: what it accepts is a bare Slack label
//! (`^[a-z0-9][a-z0-9-]{0,20}$`), and parsing that again gives the same.
#![no_main]

use integration_config::domain::WorkspaceDomain;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    if let Ok(d) = WorkspaceDomain::parse(input) {
        let s = d.as_str();
        assert!((1..=21).contains(&s.len()), "{s:?}");
        assert!(
            s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()),
            "{s:?}"
        );
        assert!(
            s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{s:?}"
        );
        assert_eq!(WorkspaceDomain::parse(s).as_ref(), Ok(&d));
    }
});
