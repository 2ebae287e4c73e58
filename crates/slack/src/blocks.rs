//! The Block Kit blocks ovice-slack sends, and Slack's limits on them
//! (docs.slack.dev, "Reference: blocks", "Reference: block elements", "Reference: composition objects").
//!
//! Only what the product uses is modelled, and only for sending: the emulator checks what arrives
//! with its own reading of Slack's rules, so the two cannot agree by sharing a mistake.

use serde::Serialize;

/// Blocks in one message.
pub const MAX_BLOCKS: usize = 50;
/// Characters of a section's text.
pub const MAX_SECTION_TEXT: usize = 3_000;
/// Elements of a context block.
pub const MAX_CONTEXT_ELEMENTS: usize = 10;
/// Characters of a button's label.
pub const MAX_BUTTON_TEXT: usize = 75;
/// Characters of a button's link.
pub const MAX_BUTTON_URL: usize = 3_000;

/// One layout block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// Small grey text above or below the message: who and where.
    Context { elements: Vec<TextObject> },
    /// The message itself.
    Section { text: TextObject },
    /// Buttons.
    Actions { elements: Vec<Button> },
    /// A thin line between two parts (a digest's entries).
    Divider,
}

/// A text object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TextObject {
    /// mrkdwn, already escaped by the caller. `verbatim` keeps Slack from turning bare URLs,
    /// channel names and mention words into links: nothing in it acts but what is written as markup.
    Mrkdwn {
        text: String,
        verbatim: bool,
    },
    PlainText {
        text: String,
        emoji: bool,
    },
}

impl TextObject {
    /// Escaped mrkdwn that Slack shows as written.
    pub fn verbatim(text: String) -> Self {
        Self::Mrkdwn { text, verbatim: true }
    }

    pub fn plain(text: String) -> Self {
        Self::PlainText { text, emoji: true }
    }
}

/// A link button: Slack opens `url` in the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Button {
    #[serde(rename = "type")]
    kind: ButtonKind,
    pub text: TextObject,
    pub url: String,
    pub action_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum ButtonKind {
    Button,
}

impl Button {
    pub fn link(label: String, url: String, action_id: &str) -> Self {
        Self {
            kind: ButtonKind::Button,
            text: TextObject::plain(label),
            url,
            action_id: action_id.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_serialize_as_slack_reads_them() {
        let blocks = vec![
            Block::Context {
                elements: vec![TextObject::verbatim("*Alice* in Lobby".into())],
            },
            Block::Section {
                text: TextObject::verbatim("hi &lt;!here&gt;".into()),
            },
            Block::Actions {
                elements: vec![Button::link(
                    "Open in ovice".into(),
                    "https://o.example/1".into(),
                    "open",
                )],
            },
            Block::Divider,
        ];
        let json = serde_json::to_value(&blocks).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!([
                {"type": "context", "elements": [{"type": "mrkdwn", "text": "*Alice* in Lobby", "verbatim": true}]},
                {"type": "section", "text": {"type": "mrkdwn", "text": "hi &lt;!here&gt;", "verbatim": true}},
                {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open in ovice", "emoji": true}, "url": "https://o.example/1", "action_id": "open"}]},
                {"type": "divider"}
            ])
        );
    }
}
