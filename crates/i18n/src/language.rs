//! The languages ovice-slack speaks and how one is chosen from what a caller sent.

use std::fmt;

/// A language every text exists in. English is the fallback for everything unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, strum::EnumIter)]
pub enum Language {
    #[default]
    English,
    Japanese,
}

impl Language {
    /// The BCP 47 tag stored and shown in the API (`en`, `ja`).
    pub fn tag(self) -> &'static str {
        match self {
            Self::English => "en",
            Self::Japanese => "ja",
        }
    }

    /// A BCP 47 tag (`ja`, `ja-JP`, `en_US`, `EN`): its primary language, if it is one we speak.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?;
        if primary.eq_ignore_ascii_case("ja") {
            Some(Self::Japanese)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Self::English)
        } else {
            None
        }
    }

    /// The browser's preference (`Accept-Language: ja,en-US;q=0.9`): the spoken language with the
    /// highest weight, the earlier one on a tie; `None` when the header names none we speak.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(Self, u16)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let Some(language) = parts.next().and_then(Self::from_tag) else {
                continue;
            };
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), quality_per_mille);
            let Some(weight) = weight else { continue };
            if weight > 0 && best.is_none_or(|(_, w)| weight > w) {
                best = Some((language, weight));
            }
        }
        best.map(|(language, _)| language)
    }
}

/// `q=0.8` as 800; `None` for what RFC 9110 does not allow (then the item is ignored).
fn quality_per_mille(q: &str) -> Option<u16> {
    let q = q.trim();
    let (whole, fraction) = q.split_once('.').unwrap_or((q, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let fraction = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(fraction),
        "1" if fraction == 0 => Some(1000),
        _ => None,
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_the_primary_language() {
        assert_eq!(Language::from_tag("ja"), Some(Language::Japanese));
        assert_eq!(Language::from_tag("ja-JP"), Some(Language::Japanese));
        assert_eq!(Language::from_tag("JA_jp"), Some(Language::Japanese));
        assert_eq!(Language::from_tag("en-GB"), Some(Language::English));
        assert_eq!(Language::from_tag("fr"), None);
        assert_eq!(Language::from_tag(""), None);
        assert_eq!(Language::from_tag("jav"), None);
    }

    #[test]
    fn accept_language_takes_the_heaviest_spoken_language() {
        let pick = Language::from_accept_language;
        assert_eq!(pick("ja,en-US;q=0.9"), Some(Language::Japanese));
        assert_eq!(pick("en-US,ja;q=0.9"), Some(Language::English));
        assert_eq!(pick("fr, ja;q=0.5, en;q=0.4"), Some(Language::Japanese));
        assert_eq!(pick("en;q=0.5, ja;q=0.8"), Some(Language::Japanese));
        assert_eq!(pick("ja;q=0, en;q=0.1"), Some(Language::English));
        assert_eq!(pick("ja;q=2, en;q=0.1"), Some(Language::English));
        assert_eq!(pick("fr-FR, de"), None);
        assert_eq!(pick("*"), None);
        assert_eq!(pick(""), None);
    }
}
