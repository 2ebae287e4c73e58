//! How a message reads in Slack (docs/product.md §2.3): Block Kit blocks (who and where, the text, a
//! button back to ovice) and the notification text beside them, in the recipient's language, with
//! everything from ovice escaped for mrkdwn so no sender can trigger `@channel`, `@here` or a mention.

use ovice_slack_i18n::{Arg, Language, Text};
use ovice_slack_model::LinkUrl;
use slack_client::blocks::{Block, Button, MAX_SECTION_TEXT, TextObject};

/// The sender's text is cut at this many characters of escaped mrkdwn, so that with the marker
/// it fits one section block (3,000).
pub const MAX_SLACK_TEXT_CHARS: usize = 2_900;

/// The notification text shows the start of the message: a phone shows a few lines at most.
pub const MAX_NOTIFICATION_TEXT_CHARS: usize = 300;

/// Names (sender, space) are cut at this many characters of Slack text.
const MAX_NAME_CHARS: usize = 80;

/// The button's `action_id` (Slack requires one; the button only opens its link).
pub const OPEN_ACTION_ID: &str = "open_in_ovice";

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

/// A message as it goes to Slack: the blocks people see and the `text` their notifications read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlackMessage {
    pub text: String,
    pub blocks: Vec<Block>,
}

/// The parts of a Slack message; `render` makes the blocks and the notification text.
#[derive(Clone, Copy, Debug)]
pub struct SlackText<'a> {
    pub sender_name: &'a str,
    pub sender_is_visitor: bool,
    pub space_name: &'a str,
    pub text: &'a str,
    pub link: Option<&'a LinkUrl>,
    /// The recipient's: the frame around the sender's words is in it.
    pub language: Language,
}

impl SlackText<'_> {
    pub fn render(&self) -> SlackMessage {
        let (who, space) = (self.who(), self.space());
        let context = Text::FrameContext.render(
            self.language,
            &[("who", Arg::Str(&who)), ("space", Arg::Str(&space))],
        );
        let mut blocks = vec![
            Block::Context {
                elements: vec![TextObject::verbatim(context)],
            },
            Block::Section {
                text: TextObject::verbatim(self.body(MAX_SLACK_TEXT_CHARS, true)),
            },
        ];
        if let Some(link) = self.link {
            blocks.push(Block::Actions {
                elements: vec![Button::link(
                    Text::FrameOpen.plain(self.language),
                    link.as_str().to_owned(),
                    OPEN_ACTION_ID,
                )],
            });
        }
        let preview = self.body(MAX_NOTIFICATION_TEXT_CHARS, false);
        let text = Text::FrameFallback.render(
            self.language,
            &[
                ("who", Arg::Str(&who)),
                ("space", Arg::Str(&space)),
                ("text", Arg::Str(&preview)),
            ],
        );
        SlackMessage { text, blocks }
    }

    /// The sender's name, escaped and marked when a visitor.
    fn who(&self) -> String {
        let name = name_or(self.sender_name, || Text::FrameSomeone.plain(self.language));
        if self.sender_is_visitor {
            Text::FrameVisitor.render(self.language, &[("name", Arg::Str(&name))])
        } else {
            name
        }
    }

    fn space(&self) -> String {
        name_or(self.space_name, || "ovice".to_owned())
    }

    /// The sender's text, escaped and cut at `limit` with the long marker or a bare `…`.
    fn body(&self, limit: usize, long_marker: bool) -> String {
        if self.text.trim().is_empty() {
            return Text::FrameEmpty.plain(self.language);
        }
        let (mut text, cut) = escape_within(self.text, limit);
        if cut {
            if long_marker {
                text.push_str(&Text::FrameShortened.plain(self.language));
            } else {
                text.push('…');
            }
        }
        text
    }
}

/// More than three messages waiting for the end of quiet hours go out as one digest.
pub const DIGEST_MIN: usize = 4;
/// A digest names at most this many messages; the rest go in the next one.
pub const DIGEST_MAX: usize = 10;

/// One Slack message for messages that waited together (quiet hours): a title, then for each who
/// wrote it, where, and a button to it in ovice. It shows no text, so no later edit makes it stale,
/// and nothing of the messages has to be kept to show it again after one is deleted.
pub fn render_digest(entries: &[SlackText<'_>], language: Language) -> SlackMessage {
    let count = u64::try_from(entries.len()).unwrap_or(u64::MAX);
    let title = Text::DigestTitle.render(language, &[("count", Arg::Count(count))]);
    let mut blocks = vec![Block::Section {
        text: TextObject::verbatim(format!("*{title}*")),
    }];
    for (i, e) in entries.iter().take(DIGEST_MAX).enumerate() {
        let (who, space) = (e.who(), e.space());
        blocks.push(Block::Context {
            elements: vec![TextObject::verbatim(
                Text::FrameContext.render(language, &[("who", Arg::Str(&who)), ("space", Arg::Str(&space))]),
            )],
        });
        if let Some(link) = e.link {
            blocks.push(Block::Actions {
                elements: vec![Button::link(
                    Text::FrameOpen.plain(language),
                    link.as_str().to_owned(),
                    &format!("{OPEN_ACTION_ID}_{i}"),
                )],
            });
        }
    }
    SlackMessage { text: title, blocks }
}

/// Everything that must hold of a message whatever the sender wrote: returns what broke. One home
/// for the guarantee, checked by the unit and property tests and the fuzz targets.
pub fn check_inert(message: &SlackMessage, link: Option<&LinkUrl>) -> Result<(), String> {
    check_inert_with_links(message, link.as_slice())
}

/// As [`check_inert`], for a message whose buttons may lead to any of `links` (a digest).
pub fn check_inert_with_links(message: &SlackMessage, links: &[&LinkUrl]) -> Result<(), String> {
    inert(&message.text).map_err(|e| format!("text: {e}"))?;
    if message.blocks.len() > slack_client::blocks::MAX_BLOCKS {
        return Err(format!("{} blocks", message.blocks.len()));
    }
    for (i, block) in message.blocks.iter().enumerate() {
        let texts: Vec<&TextObject> = match block {
            Block::Context { elements } => elements.iter().collect(),
            Block::Section { text } => vec![text],
            Block::Actions { elements } => {
                for button in elements {
                    if !links.iter().any(|l| l.as_str() == button.url) {
                        return Err(format!("block {i}: a button to {:?}", button.url));
                    }
                }
                elements.iter().map(|b| &b.text).collect()
            }
            Block::Divider => Vec::new(),
        };
        for t in texts {
            match t {
                TextObject::Mrkdwn { text, verbatim } => {
                    if !verbatim {
                        return Err(format!("block {i}: mrkdwn that Slack would parse"));
                    }
                    if text.chars().count() > MAX_SECTION_TEXT {
                        return Err(format!("block {i}: {} characters", text.chars().count()));
                    }
                    inert(text).map_err(|e| format!("block {i}: {e}"))?;
                }
                TextObject::PlainText { text, .. } => {
                    if text.contains(['<', '>']) {
                        return Err(format!("block {i}: markup in a label: {text:?}"));
                    }
                }
            }
            if t_is_empty(t) {
                return Err(format!("block {i}: an empty text"));
            }
        }
    }
    Ok(())
}

fn t_is_empty(t: &TextObject) -> bool {
    match t {
        TextObject::Mrkdwn { text, .. } | TextObject::PlainText { text, .. } => text.is_empty(),
    }
}

/// No `<` or `>` at all (the frame adds no markup), and every `&` starts one of the three entities.
fn inert(s: &str) -> Result<(), String> {
    if s.contains(['<', '>']) {
        return Err(format!("markup in {s:?}"));
    }
    for (i, _) in s.match_indices('&') {
        let rest = &s[i..];
        if !(rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;")) {
            return Err(format!("a bare & at {i} in {s:?}"));
        }
    }
    Ok(())
}

fn name_or(name: &str, fallback: impl FnOnce() -> String) -> String {
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
        return fallback();
    }
    let (escaped, cut) = escape_within(name, MAX_NAME_CHARS);
    if cut { format!("{escaped}…") } else { escaped }
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;

    use super::*;

    #[test]
    fn names_stay_on_one_line() {
        let fallback = || "x".to_owned();
        assert_eq!(name_or("Mallory\n*Boss*:\u{202E}", fallback), "Mallory *Boss*:");
        assert_eq!(name_or("\n\t", || "Someone".to_owned()), "Someone");
    }

    fn dm<'a>(text: &'a str, link: Option<&'a LinkUrl>, language: Language) -> SlackText<'a> {
        SlackText {
            sender_name: "Alice",
            sender_is_visitor: false,
            space_name: "Lobby",
            text,
            link,
            language,
        }
    }

    fn section(m: &SlackMessage) -> &str {
        m.blocks
            .iter()
            .find_map(|b| match b {
                Block::Section {
                    text: TextObject::Mrkdwn { text, .. },
                } => Some(text.as_str()),
                _ => None,
            })
            .unwrap_or_default()
    }

    #[test]
    fn a_message_is_context_section_and_button_with_a_notification_text() {
        let link = LinkUrl::parse("https://ovice.example/space/1?m=2&x=3").unwrap();
        let m = dm("See you at 3 & <b>", Some(&link), Language::English).render();
        assert_eq!(m.text, "Alice in Lobby: See you at 3 &amp; &lt;b&gt;");
        assert_eq!(
            m.blocks,
            vec![
                Block::Context {
                    elements: vec![TextObject::verbatim("*Alice* in Lobby".into())]
                },
                Block::Section {
                    text: TextObject::verbatim("See you at 3 &amp; &lt;b&gt;".into())
                },
                Block::Actions {
                    elements: vec![Button::link(
                        "Open in ovice".into(),
                        // A URL in JSON, not mrkdwn: sent as it is.
                        "https://ovice.example/space/1?m=2&x=3".into(),
                        OPEN_ACTION_ID
                    )]
                },
            ]
        );
        assert_eq!(check_inert(&m, Some(&link)), Ok(()));
        // No link, no button; an empty text and names get the stand-ins.
        let empty = SlackText {
            sender_name: " ",
            space_name: "",
            ..dm("", None, Language::English)
        }
        .render();
        assert_eq!(empty.blocks.len(), 2);
        assert_eq!(section(&empty), "(open the message in ovice to read it)");
        assert_eq!(
            empty.text,
            "Someone in ovice: (open the message in ovice to read it)"
        );
    }

    #[test]
    fn japanese_and_english_differ_only_in_the_frame() {
        let link = LinkUrl::parse("https://ovice.example/s/1").unwrap();
        let visitor = |language| SlackText {
            sender_is_visitor: true,
            ..dm("明日の会議 <!here> & agenda", Some(&link), language)
        };
        let (en, ja) = (
            visitor(Language::English).render(),
            visitor(Language::Japanese).render(),
        );
        assert_eq!(section(&en), section(&ja));
        assert_eq!(section(&en), "明日の会議 &lt;!here&gt; &amp; agenda");
        let frame = |m: &SlackMessage| -> Vec<String> {
            m.blocks
                .iter()
                .filter_map(|b| match b {
                    Block::Context { elements } => match elements.first() {
                        Some(TextObject::Mrkdwn { text, .. }) => Some(text.clone()),
                        _ => None,
                    },
                    Block::Actions { elements } => elements.first().map(|b| match &b.text {
                        TextObject::PlainText { text, .. } | TextObject::Mrkdwn { text, .. } => {
                            format!("{text} → {}", b.url)
                        }
                    }),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(
            frame(&en),
            [
                "*Alice (visitor)* in Lobby",
                "Open in ovice → https://ovice.example/s/1"
            ]
        );
        assert_eq!(
            frame(&ja),
            [
                "Lobbyの *Alice（ゲスト）*",
                "ovice で開く → https://ovice.example/s/1"
            ]
        );
        assert_eq!(
            en.text,
            "Alice (visitor) in Lobby: 明日の会議 &lt;!here&gt; &amp; agenda"
        );
        assert_eq!(
            ja.text,
            "LobbyのAlice（ゲスト）：明日の会議 &lt;!here&gt; &amp; agenda"
        );
        // The same blocks in the same order; only the frame's words differ.
        assert_eq!(en.blocks.len(), ja.blocks.len());
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary_with_the_marker_and_fits_a_section() {
        for language in Language::iter() {
            let marker = Text::FrameShortened.plain(language);
            let long = "é".repeat(MAX_SLACK_TEXT_CHARS + 10);
            let m = dm(&long, None, language).render();
            let body = section(&m);
            assert!(body.chars().count() <= MAX_SECTION_TEXT, "{language}");
            let kept = body.strip_suffix(marker.as_str()).unwrap();
            assert_eq!(kept.chars().count(), MAX_SLACK_TEXT_CHARS);
            // The notification shows the start, cut with a bare ellipsis.
            assert!(
                m.text
                    .ends_with(&format!("{}…", "é".repeat(MAX_NOTIFICATION_TEXT_CHARS)))
            );
            // Entities are never split: the cut text stays well-formed.
            let amps = "&".repeat(MAX_SLACK_TEXT_CHARS);
            let m = dm(&amps, None, language).render();
            let kept = section(&m).strip_suffix(marker.as_str()).unwrap();
            assert_eq!(kept, "&amp;".repeat(MAX_SLACK_TEXT_CHARS / 5));
            assert_eq!(check_inert(&m, None), Ok(()));
            // Exactly at the limit: not cut.
            let exact = "a".repeat(MAX_SLACK_TEXT_CHARS);
            assert_eq!(section(&dm(&exact, None, language).render()), exact);
        }
    }

    #[test]
    fn long_names_are_cut() {
        let name = "n".repeat(200);
        let m = SlackText {
            sender_name: &name,
            ..dm("x", None, Language::English)
        }
        .render();
        assert!(m.text.starts_with(&format!("{}… in Lobby", "n".repeat(80))));
    }

    #[test]
    fn a_digest_names_who_and_where_with_a_button_each_and_no_text() {
        let links: Vec<LinkUrl> = (0..12)
            .map(|i| LinkUrl::parse(&format!("https://o.example/m{i}")).unwrap())
            .collect();
        let entries: Vec<SlackText<'_>> = links
            .iter()
            .map(|l| SlackText {
                sender_name: "<!here> Mallory",
                ..dm("secret text", Some(l), Language::Japanese)
            })
            .collect();
        let m = render_digest(&entries[..5], Language::Japanese);
        assert_eq!(m.text, "おやすみ時間中に 5 件のメッセージが届きました");
        assert_eq!(m.blocks.len(), 1 + 2 * 5);
        let all: Vec<&LinkUrl> = links.iter().collect();
        assert_eq!(check_inert_with_links(&m, &all), Ok(()));
        let json = format!("{:?}", m.blocks);
        assert!(!json.contains("secret text"), "a digest shows no text: {json}");
        assert!(json.contains("Lobbyの *&lt;!here&gt; Mallory*"), "{json}");
        // Twelve waiting: the digest names ten, within Slack's 50 blocks.
        let m = render_digest(&entries, Language::English);
        assert_eq!(m.blocks.len(), 1 + 2 * DIGEST_MAX);
        assert_eq!(m.text, "12 messages arrived during your quiet hours");
    }

    #[test]
    fn the_check_catches_what_would_act_in_slack() {
        let link = LinkUrl::parse("https://o.example/x").unwrap();
        let good = dm("hi", Some(&link), Language::English).render();
        let mut bad = good.clone();
        bad.text.push_str(" <!here>");
        assert!(check_inert(&bad, Some(&link)).is_err());
        let mut bad = good.clone();
        bad.blocks[1] = Block::Section {
            text: TextObject::Mrkdwn {
                text: "hi".into(),
                verbatim: false,
            },
        };
        assert!(check_inert(&bad, Some(&link)).is_err());
        // A button to anywhere but the message's link.
        assert!(check_inert(&good, None).is_err());
    }

    #[test]
    fn rendered_message_never_contains_an_unescaped_control_sequence() {
        // A deterministic sweep over tricky inputs (a property test in spirit).
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
        let link = LinkUrl::parse("https://o.example/x").unwrap();
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let input = format!("{a}{b}{c}{a}");
                    for language in Language::iter() {
                        let m = SlackText {
                            sender_name: &input,
                            sender_is_visitor: false,
                            space_name: &input,
                            text: &input,
                            link: Some(&link),
                            language,
                        }
                        .render();
                        assert_eq!(check_inert(&m, Some(&link)), Ok(()), "{input:?}");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod proptests {
    //! Whatever a sender writes (text, display name, space name), nothing in the blocks or the
    //! notification text can act as a Slack control sequence, and every text stays within its cap.
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
            Just("@here".to_owned()),
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

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn escaping_is_inert_and_lossless(input in tricky()) {
            let escaped = escape_mrkdwn(&input);
            prop_assert_eq!(inert(&escaped), Ok(()));
            prop_assert_eq!(unescape(&escaped), input);
        }

        #[test]
        fn rendered_message_has_no_control_sequence_and_stays_within_the_caps(
            sender in tricky(),
            space in tricky(),
            text in tricky(),
            visitor in any::<bool>(),
            japanese in any::<bool>(),
            link in prop::option::of(prop_oneof![
                any::<String>(),
                "https?://[a-z]{1,10}\\.example/[ -~]{0,60}",
                "https://o\\.example/[&|<>a]{0,3000}",
            ]),
        ) {
            let link = link.and_then(|l| LinkUrl::parse(&l).ok());
            let language = if japanese { Language::Japanese } else { Language::English };
            let m = SlackText {
                sender_name: &sender,
                sender_is_visitor: visitor,
                space_name: &space,
                text: &text,
                link: link.as_ref(),
                language,
            }
            .render();
            prop_assert_eq!(check_inert(&m, link.as_ref()), Ok(()));
            for name in [name_or(&sender, String::new), name_or(&space, String::new)] {
                prop_assert!(name.chars().count() <= MAX_NAME_CHARS + 1, "{name:?}");
            }
            if !text.trim().is_empty() {
                // What the section keeps is exactly the start of what the sender wrote.
                let marker = Text::FrameShortened.plain(language);
                let body = section_text(&m);
                let kept = body.strip_suffix(marker.as_str()).unwrap_or(&body);
                prop_assert!(kept.chars().count() <= MAX_SLACK_TEXT_CHARS);
                prop_assert!(text.starts_with(&unescape(kept)));
                prop_assert_eq!(body.ends_with(marker.as_str()), unescape(kept) != text);
            }
            // The notification text stays short: the frame, two names, the preview.
            prop_assert!(m.text.chars().count() <= 2 * (MAX_NAME_CHARS + 1) + MAX_NOTIFICATION_TEXT_CHARS + 40);
        }
    }

    fn section_text(m: &SlackMessage) -> String {
        m.blocks
            .iter()
            .find_map(|b| match b {
                Block::Section {
                    text: TextObject::Mrkdwn { text, .. },
                } => Some(text.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }
}
