//! How a message reads in Slack (docs/product.md §2.3): who sent it, the space, the text and a link back, with
//! everything from ovice escaped for mrkdwn so no sender can trigger `@channel`, `@here` or a mention.

use std::fmt::Write as _;

use ovice_slack_model::LinkUrl;

/// Slack advises keeping a message under 4,000 characters; the text is cut well below that so the
/// header and the link always fit.
pub const MAX_SLACK_TEXT_CHARS: usize = 3_000;

/// Appended to a cut text.
pub const SHORTENED_MARKER: &str = "… (shortened, open in ovice for the full message)";

/// Names (sender, space) are cut at this many characters of Slack text.
const MAX_NAME_CHARS: usize = 80;

/// Escapes Slack's three control characters. Slack then shows `<!channel>` or `<@U1>` as the
/// literal text it is instead of notifying anyone.
pub fn escape_mrkdwn(text: &str) -> String {
    escape_within(text, usize::MAX).0
}

/// Escapes `text` into at most `limit` characters of Slack text, cutting on a character boundary
/// (never inside an entity). Returns whether it was cut.
fn escape_within(text: &str, limit: usize) -> (String, bool) {
    let mut out = String::with_capacity(text.len().min(limit.saturating_mul(4)));
    let mut used = 0usize;
    for c in text.chars() {
        let piece = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            _ => "",
        };
        let width = if piece.is_empty() { 1 } else { piece.len() };
        if used + width > limit {
            return (out, true);
        }
        used += width;
        if piece.is_empty() {
            out.push(c);
        } else {
            out.push_str(piece);
        }
    }
    (out, false)
}

/// The parts of a Slack message; `render` makes the mrkdwn text.
#[derive(Clone, Copy, Debug)]
pub struct SlackText<'a> {
    pub sender_name: &'a str,
    pub sender_is_visitor: bool,
    pub space_name: &'a str,
    pub text: &'a str,
    pub link: Option<&'a LinkUrl>,
}

impl SlackText<'_> {
    pub fn render(&self) -> String {
        let mut out = String::new();
        let name = name_or(self.sender_name, "Someone");
        out.push_str(&name);
        if self.sender_is_visitor {
            out.push_str(" (visitor)");
        }
        out.push_str(" in ");
        out.push_str(&name_or(self.space_name, "ovice"));
        out.push_str(":\n");
        if self.text.trim().is_empty() {
            out.push_str("(open the message in ovice to read it)");
        } else {
            let (text, cut) = escape_within(self.text, MAX_SLACK_TEXT_CHARS);
            out.push_str(&text);
            if cut {
                out.push_str(SHORTENED_MARKER);
            }
        }
        if let Some(link) = self.link {
            // `&` is escaped like everywhere else in the text; Slack unescapes it in the URL.
            let _ = write!(out, "\n<{}|Open in ovice>", escape_mrkdwn(link.as_str()));
        }
        out
    }
}

fn name_or(name: &str, fallback: &str) -> String {
    // A name is one line: newlines, control characters and bidi overrides would let a sender fake
    // the header layout in Slack.
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_control()
                || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
            {
                ' '
            } else {
                c
            }
        })
        .collect();
    let name = name.trim();
    if name.is_empty() {
        return fallback.to_owned();
    }
    let (escaped, cut) = escape_within(name, MAX_NAME_CHARS);
    if cut { format!("{escaped}…") } else { escaped }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_on_one_line() {
        assert_eq!(name_or("Mallory\n*Boss*:\u{202E}", "x"), "Mallory *Boss*:");
        assert_eq!(name_or("\n\t", "Someone"), "Someone");
    }

    fn text<'a>(text: &'a str, link: Option<&'a LinkUrl>) -> SlackText<'a> {
        SlackText {
            sender_name: "Alice",
            sender_is_visitor: false,
            space_name: "Lobby",
            text,
            link,
        }
    }

    #[test]
    fn control_characters_arrive_as_literal_text() {
        assert_eq!(
            escape_mrkdwn("<!channel> <!here> <@U123> & a>b"),
            "&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &amp; a&gt;b"
        );
        let rendered = SlackText {
            sender_name: "<!here> Mallory & co",
            sender_is_visitor: true,
            space_name: "<@U1>",
            text: "hi <!channel>",
            link: None,
        }
        .render();
        assert_eq!(
            rendered,
            "&lt;!here&gt; Mallory &amp; co (visitor) in &lt;@U1&gt;:\nhi &lt;!channel&gt;"
        );
    }

    #[test]
    fn a_message_shows_sender_space_text_and_link() {
        let link = LinkUrl::parse("https://ovice.example/space/1?m=2&x=3").unwrap();
        assert_eq!(
            text("See you at 3", Some(&link)).render(),
            "Alice in Lobby:\nSee you at 3\n<https://ovice.example/space/1?m=2&amp;x=3|Open in ovice>"
        );
        let empty = SlackText {
            sender_name: " ",
            sender_is_visitor: false,
            space_name: "",
            text: "",
            link: None,
        };
        assert_eq!(
            empty.render(),
            "Someone in ovice:\n(open the message in ovice to read it)"
        );
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary_with_a_marker() {
        let long = "é".repeat(MAX_SLACK_TEXT_CHARS + 10);
        let rendered = text(&long, None).render();
        assert!(rendered.ends_with(SHORTENED_MARKER));
        let body = rendered
            .strip_prefix("Alice in Lobby:\n")
            .unwrap()
            .strip_suffix(SHORTENED_MARKER)
            .unwrap();
        assert_eq!(body.chars().count(), MAX_SLACK_TEXT_CHARS);
        // Entities are never split: the cut text stays well-formed.
        let amps = "&".repeat(MAX_SLACK_TEXT_CHARS);
        let rendered = text(&amps, None).render();
        let body = rendered
            .strip_prefix("Alice in Lobby:\n")
            .unwrap()
            .strip_suffix(SHORTENED_MARKER)
            .unwrap();
        assert_eq!(body, "&amp;".repeat(MAX_SLACK_TEXT_CHARS / 5));
        // Exactly at the limit: not cut.
        let exact = "a".repeat(MAX_SLACK_TEXT_CHARS);
        assert!(!text(&exact, None).render().contains(SHORTENED_MARKER));
    }

    #[test]
    fn long_names_are_cut() {
        let name = "n".repeat(200);
        let rendered = SlackText {
            sender_name: &name,
            ..text("x", None)
        }
        .render();
        assert!(rendered.starts_with(&format!("{}… in Lobby", "n".repeat(80))));
    }

    #[test]
    fn rendered_text_never_contains_an_unescaped_control_sequence() {
        // A deterministic sweep over tricky inputs (a property test in spirit): whatever the
        // sender writes, the only `<` in the output is the link we add.
        let pieces = [
            "<",
            ">",
            "&",
            "<!channel>",
            "<@U1|x>",
            "|",
            "&lt;",
            "\u{0}",
            "é",
            "💬",
            " ",
            "\n",
            "*",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let input = format!("{a}{b}{c}{a}");
                    let link = LinkUrl::parse("https://o.example/x").unwrap();
                    let rendered = SlackText {
                        sender_name: &input,
                        sender_is_visitor: false,
                        space_name: &input,
                        text: &input,
                        link: Some(&link),
                    }
                    .render();
                    let without_link = rendered
                        .strip_suffix("\n<https://o.example/x|Open in ovice>")
                        .unwrap();
                    assert!(!without_link.contains('<'), "{input:?} -> {rendered:?}");
                    assert!(!without_link.contains('>'), "{input:?} -> {rendered:?}");
                }
            }
        }
    }
}

#[cfg(test)]
mod proptests {
    //! Whatever a sender writes (text, display name, space name), nothing in the Slack text can act
    //! as a Slack control sequence, and the text stays within its cap.
    use proptest::prelude::*;

    use super::*;

    /// Strings made of the pieces that matter to mrkdwn, mixed with arbitrary Unicode.
    fn tricky() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("<".to_owned()),
            Just(">".to_owned()),
            Just("&".to_owned()),
            Just("<!channel>".to_owned()),
            Just("<!here|here>".to_owned()),
            Just("<!subteam^S1>".to_owned()),
            Just("<@U0ALICE>".to_owned()),
            Just("<#C0GENERAL|general>".to_owned()),
            Just("<https://evil.example|ovice>".to_owned()),
            Just("&lt;".to_owned()),
            Just("&amp;lt;".to_owned()),
            Just("&#60;".to_owned()),
            Just("|".to_owned()),
            Just("\u{0}".to_owned()),
            Just("\u{202e}".to_owned()),
            Just("\u{fe64}".to_owned()),
            Just("💬".to_owned()),
            Just("é".to_owned()),
            Just("\n".to_owned()),
            Just(" ".to_owned()),
            any::<char>().prop_map(String::from),
            "[a-z]{1,8}",
        ];
        prop_oneof![
            3 => prop::collection::vec(piece, 0..64).prop_map(|v| v.concat()),
            1 => any::<String>(),
            // Long enough to be cut.
            1 => prop::collection::vec("[<>&a-zé💬]{50}", 55..80).prop_map(|v| v.concat()),
        ]
    }

    /// `&amp;`, `&lt;`, `&gt;` back to the characters.
    fn unescape(s: &str) -> String {
        s.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    }

    /// Every `&` starts one of the three entities we write; no `<` or `>` at all.
    fn assert_inert(s: &str) -> Result<(), TestCaseError> {
        prop_assert!(!s.contains('<') && !s.contains('>'), "{s:?}");
        for (i, _) in s.match_indices('&') {
            let rest = &s[i..];
            prop_assert!(
                rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;"),
                "a bare & at {i} in {s:?}"
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn escaping_is_inert_and_lossless(input in tricky()) {
            let escaped = escape_mrkdwn(&input);
            assert_inert(&escaped)?;
            prop_assert_eq!(unescape(&escaped), input);
        }

        #[test]
        fn rendered_text_has_no_control_sequence_and_stays_within_the_cap(
            sender in tricky(),
            space in tricky(),
            text in tricky(),
            visitor in any::<bool>(),
            link in prop::option::of(prop_oneof![
                any::<String>(),
                "https?://[a-z]{1,10}\\.example/[ -~]{0,60}",
                "https://o\\.example/[&|<>a]{0,3000}",
            ]),
        ) {
            let link = link.and_then(|l| LinkUrl::parse(&l).ok());
            let rendered = SlackText {
                sender_name: &sender,
                sender_is_visitor: visitor,
                space_name: &space,
                text: &text,
                link: link.as_ref(),
            }
            .render();
            // The only markup is the link we add at the end, itself free of `<`, `>`, `|` and spaces.
            let (body, link_part) = match &link {
                Some(l) => {
                    let suffix = format!("\n<{}|Open in ovice>", escape_mrkdwn(l.as_str()));
                    prop_assert!(rendered.ends_with(&suffix), "{rendered:?}");
                    let inner = escape_mrkdwn(l.as_str());
                    prop_assert!(!inner.contains(['<', '>', '|']) && !inner.contains(char::is_whitespace));
                    prop_assert!(inner.starts_with("http://") || inner.starts_with("https://"));
                    (&rendered[..rendered.len() - suffix.len()], inner)
                }
                None => (rendered.as_str(), String::new()),
            };
            assert_inert(body)?;
            for sequence in ["<!", "<@", "<#"] {
                prop_assert!(!rendered.contains(sequence), "{sequence} in {rendered:?}");
            }
            // Header: two names of at most 80 characters (+ `…`), then the text within its cap.
            let (sender_name, space_name) = (name_or(&sender, "Someone"), name_or(&space, "ovice"));
            for name in [&sender_name, &space_name] {
                prop_assert!(name.chars().count() <= MAX_NAME_CHARS + 1, "{name:?}");
            }
            let visitor_mark = if visitor { " (visitor)" } else { "" };
            let header = format!("{sender_name}{visitor_mark} in {space_name}:\n");
            let message = body.strip_prefix(header.as_str());
            prop_assert!(message.is_some(), "{body:?} does not start with {header:?}");
            let message = message.unwrap_or_default();
            let kept = message.strip_suffix(SHORTENED_MARKER).unwrap_or(message);
            prop_assert!(kept.chars().count() <= MAX_SLACK_TEXT_CHARS);
            if !text.trim().is_empty() {
                // What survives is exactly the start of what the sender wrote.
                prop_assert!(text.starts_with(&unescape(kept)));
                prop_assert_eq!(message.ends_with(SHORTENED_MARKER), unescape(kept) != text);
            }
            // Everything together stays far below Slack's hard limit of 40,000 characters.
            prop_assert!(rendered.chars().count() <= body.chars().count() + link_part.len() + 20);
            prop_assert!(rendered.chars().count() < 40_000);
        }
    }
}
