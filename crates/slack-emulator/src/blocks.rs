//! Block Kit as Slack checks it on `chat.postMessage` and `chat.update`: `blocks` must be a JSON
//! array of at most 50 known blocks, each within Slack's documented limits. A request that breaks a
//! rule is refused whole, as Slack does: `invalid_blocks_format` when `blocks` is not an array of
//! objects, otherwise `invalid_blocks` with one `[ERROR] … [json-pointer:/blocks/…]` line per problem
//! in `response_metadata.messages`.
//!
//! This is the emulator's own reading of Slack's reference pages, independent of the product's types.

use std::collections::HashSet;

use serde_json::{Map, Value};

const MAX_BLOCKS: usize = 50;
const MAX_BLOCK_ID: usize = 255;
const MAX_SECTION_TEXT: usize = 3_000;
const MAX_SECTION_FIELDS: usize = 10;
const MAX_FIELD_TEXT: usize = 2_000;
const MAX_CONTEXT_ELEMENTS: usize = 10;
const MAX_ACTIONS_ELEMENTS: usize = 25;
const MAX_BUTTON_TEXT: usize = 75;
const MAX_ACTION_ID: usize = 255;
const MAX_BUTTON_URL: usize = 3_000;
const MAX_BUTTON_VALUE: usize = 2_000;
const MAX_HEADER_TEXT: usize = 150;

/// Why Slack refuses the blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlocksError {
    /// Not a JSON array of objects: `invalid_blocks_format`.
    Format,
    /// `invalid_blocks`, with what is wrong where.
    Invalid(Vec<String>),
}

impl BlocksError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Format => "invalid_blocks_format",
            Self::Invalid(_) => "invalid_blocks",
        }
    }

    pub fn messages(&self) -> Vec<String> {
        match self {
            Self::Format => vec!["[ERROR] blocks must be a JSON array of objects".to_owned()],
            Self::Invalid(m) => m.clone(),
        }
    }
}

/// The blocks of a request (`None` when the argument is absent, an empty list for `[]`: chat.update
/// keeps the old blocks for the first and removes them for the second), or why Slack refuses them.
pub fn parse(raw: Option<&str>) -> Result<Option<Vec<Value>>, BlocksError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let Ok(Value::Array(blocks)) = serde_json::from_str::<Value>(raw) else {
        return Err(BlocksError::Format);
    };
    if blocks.iter().any(|b| !b.is_object()) {
        return Err(BlocksError::Format);
    }
    let mut check = Check::default();
    if blocks.len() > MAX_BLOCKS {
        check.error("", format!("no more than {MAX_BLOCKS} items allowed"));
    }
    for (i, block) in blocks.iter().enumerate() {
        if let Some(block) = block.as_object() {
            check.block(&format!("/blocks/{i}"), block);
        }
    }
    if check.errors.is_empty() {
        Ok(Some(blocks))
    } else {
        Err(BlocksError::Invalid(check.errors))
    }
}

#[derive(Default)]
struct Check {
    errors: Vec<String>,
    block_ids: HashSet<String>,
}

impl Check {
    fn error(&mut self, at: &str, what: impl std::fmt::Display) {
        let at = if at.is_empty() { "/blocks" } else { at };
        self.errors.push(format!("[ERROR] {what} [json-pointer:{at}]"));
    }

    fn block(&mut self, at: &str, block: &Map<String, Value>) {
        if let Some(id) = block.get("block_id") {
            match id.as_str() {
                Some(s) if !s.is_empty() && s.chars().count() <= MAX_BLOCK_ID => {
                    if !self.block_ids.insert(s.to_owned()) {
                        self.error(&format!("{at}/block_id"), "duplicate block_id");
                    }
                }
                _ => self.error(
                    &format!("{at}/block_id"),
                    format!("must be a string of 1 to {MAX_BLOCK_ID} characters"),
                ),
            }
        }
        match block.get("type").and_then(Value::as_str) {
            Some("section") => self.section(at, block),
            Some("context") => self.context(at, block),
            Some("actions") => self.actions(at, block),
            Some("divider") => {}
            Some("header") => match block.get("text") {
                Some(t) => self.text_object(&format!("{at}/text"), t, MAX_HEADER_TEXT, Some("plain_text")),
                None => self.error(at, "missing required field: text"),
            },
            Some(other) => self.error(&format!("{at}/type"), format!("unsupported type: {other}")),
            None => self.error(at, "missing required field: type"),
        }
    }

    fn section(&mut self, at: &str, block: &Map<String, Value>) {
        let text = block.get("text");
        let fields = block.get("fields");
        if text.is_none() && fields.is_none() {
            self.error(at, "must provide either text or fields");
        }
        if let Some(t) = text {
            self.text_object(&format!("{at}/text"), t, MAX_SECTION_TEXT, None);
        }
        if let Some(f) = fields {
            match f.as_array() {
                Some(items) if !items.is_empty() && items.len() <= MAX_SECTION_FIELDS => {
                    for (i, item) in items.iter().enumerate() {
                        self.text_object(&format!("{at}/fields/{i}"), item, MAX_FIELD_TEXT, None);
                    }
                }
                _ => self.error(
                    &format!("{at}/fields"),
                    format!("must be 1 to {MAX_SECTION_FIELDS} text objects"),
                ),
            }
        }
        if let Some(accessory) = block.get("accessory") {
            let at = format!("{at}/accessory");
            match accessory.get("type").and_then(Value::as_str) {
                Some("button") => self.button(&at, accessory, &mut HashSet::new()),
                Some("image") => self.image(&at, accessory),
                Some(other) => self.error(
                    &format!("{at}/type"),
                    format!("unsupported type: {other} (not emulated)"),
                ),
                None => self.error(&at, "missing required field: type"),
            }
        }
    }

    /// An image element: a URL and the text read in its place.
    fn image(&mut self, at: &str, e: &Value) {
        for field in ["image_url", "alt_text"] {
            if e.get(field).and_then(Value::as_str).is_none_or(str::is_empty) {
                self.error(at, format!("missing required field: {field}"));
            }
        }
        if e.get("image_url")
            .and_then(Value::as_str)
            .is_some_and(|u| u.chars().count() > MAX_BUTTON_URL)
        {
            self.error(
                &format!("{at}/image_url"),
                format!("must be at most {MAX_BUTTON_URL} characters"),
            );
        }
    }

    fn context(&mut self, at: &str, block: &Map<String, Value>) {
        let Some(elements) = block.get("elements").and_then(Value::as_array) else {
            return self.error(at, "missing required field: elements");
        };
        if elements.is_empty() || elements.len() > MAX_CONTEXT_ELEMENTS {
            self.error(
                &format!("{at}/elements"),
                format!("must have 1 to {MAX_CONTEXT_ELEMENTS} items"),
            );
        }
        for (i, e) in elements.iter().enumerate() {
            let at = format!("{at}/elements/{i}");
            match e.get("type").and_then(Value::as_str) {
                Some("image") => self.image(&at, e),
                _ => self.text_object(&at, e, MAX_SECTION_TEXT, None),
            }
        }
    }

    fn actions(&mut self, at: &str, block: &Map<String, Value>) {
        let Some(elements) = block.get("elements").and_then(Value::as_array) else {
            return self.error(at, "missing required field: elements");
        };
        if elements.is_empty() || elements.len() > MAX_ACTIONS_ELEMENTS {
            self.error(
                &format!("{at}/elements"),
                format!("must have 1 to {MAX_ACTIONS_ELEMENTS} items"),
            );
        }
        let mut action_ids = HashSet::new();
        for (i, e) in elements.iter().enumerate() {
            let at = format!("{at}/elements/{i}");
            match e.get("type").and_then(Value::as_str) {
                Some("button") => self.button(&at, e, &mut action_ids),
                // Slack has more interactive elements; the emulator refuses what it does not check.
                Some(other) => self.error(
                    &format!("{at}/type"),
                    format!("unsupported type: {other} (not emulated)"),
                ),
                None => self.error(&at, "missing required field: type"),
            }
        }
    }

    fn button(&mut self, at: &str, e: &Value, action_ids: &mut HashSet<String>) {
        match e.get("text") {
            Some(t) => self.text_object(&format!("{at}/text"), t, MAX_BUTTON_TEXT, Some("plain_text")),
            None => self.error(at, "missing required field: text"),
        }
        if let Some(id) = e.get("action_id") {
            match id.as_str() {
                Some(s) if !s.is_empty() && s.chars().count() <= MAX_ACTION_ID => {
                    if !action_ids.insert(s.to_owned()) {
                        self.error(&format!("{at}/action_id"), "duplicate action_id");
                    }
                }
                _ => self.error(
                    &format!("{at}/action_id"),
                    format!("must be a string of 1 to {MAX_ACTION_ID} characters"),
                ),
            }
        }
        if let Some(url) = e.get("url") {
            match url.as_str() {
                Some(s)
                    if (s.starts_with("https://") || s.starts_with("http://"))
                        && s.chars().count() <= MAX_BUTTON_URL => {}
                _ => self.error(
                    &format!("{at}/url"),
                    format!("must be an http(s) URL of at most {MAX_BUTTON_URL} characters"),
                ),
            }
        }
        if let Some(value) = e.get("value")
            && value
                .as_str()
                .is_none_or(|s| s.chars().count() > MAX_BUTTON_VALUE)
        {
            self.error(
                &format!("{at}/value"),
                format!("must be a string of at most {MAX_BUTTON_VALUE} characters"),
            );
        }
        if let Some(label) = e.get("accessibility_label")
            && label
                .as_str()
                .is_none_or(|s| s.is_empty() || s.chars().count() > MAX_BUTTON_TEXT)
        {
            self.error(
                &format!("{at}/accessibility_label"),
                format!("must be a string of 1 to {MAX_BUTTON_TEXT} characters"),
            );
        }
        if let Some(style) = e.get("style")
            && !matches!(style.as_str(), Some("primary" | "danger"))
        {
            self.error(&format!("{at}/style"), "must be primary or danger");
        }
    }

    /// A text object: `plain_text` or `mrkdwn`, 1 to `max` characters; `emoji` only on plain text,
    /// `verbatim` only on mrkdwn; `only` when the place takes one type.
    fn text_object(&mut self, at: &str, t: &Value, max: usize, only: Option<&str>) {
        let Some(t) = t.as_object() else {
            return self.error(at, "must be a text object");
        };
        let kind = t.get("type").and_then(Value::as_str);
        match kind {
            Some(k @ ("plain_text" | "mrkdwn")) => {
                if let Some(only) = only
                    && k != only
                {
                    self.error(&format!("{at}/type"), format!("must be {only}"));
                }
            }
            Some(other) => return self.error(&format!("{at}/type"), format!("unsupported type: {other}")),
            None => return self.error(at, "missing required field: type"),
        }
        match t.get("text").and_then(Value::as_str) {
            Some("") => self.error(&format!("{at}/text"), "must be more than 0 characters"),
            Some(s) if s.chars().count() > max => {
                self.error(
                    &format!("{at}/text"),
                    format!("must be less than {} characters", max + 1),
                );
            }
            Some(_) => {}
            None => self.error(at, "missing required field: text"),
        }
        if t.contains_key("emoji") && (kind != Some("plain_text") || !t["emoji"].is_boolean()) {
            self.error(&format!("{at}/emoji"), "emoji is a boolean of plain_text only");
        }
        if t.contains_key("verbatim") && (kind != Some("mrkdwn") || !t["verbatim"].is_boolean()) {
            self.error(&format!("{at}/verbatim"), "verbatim is a boolean of mrkdwn only");
        }
    }
}

/// A mrkdwn text as Slack reads it: without `verbatim`, the words `@here`, `@channel` and
/// `@everyone` are parsed as the broadcasts they name (the emulator takes the unkind reading of
/// "certain mentions will be automatically parsed").
pub fn as_slack_reads(text: &str, verbatim: bool) -> String {
    if verbatim {
        return text.to_owned();
    }
    let mut out = text.to_owned();
    for word in ["here", "channel", "everyone"] {
        out = out.replace(&format!("@{word}"), &format!("<!{word}>"));
    }
    out
}

/// Every mrkdwn or plain text of the blocks, in order, as `(text, is_mrkdwn_as_read)`.
pub fn texts(blocks: &[Value]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut push = |t: &Value| {
        let text = t.get("text").and_then(Value::as_str).unwrap_or_default();
        match t.get("type").and_then(Value::as_str) {
            Some("mrkdwn") => {
                let verbatim = t.get("verbatim").and_then(Value::as_bool).unwrap_or(false);
                out.push((as_slack_reads(text, verbatim), true));
            }
            _ => out.push((text.to_owned(), false)),
        }
    };
    for b in blocks {
        if let Some(t) = b.get("text") {
            push(t);
        }
        for key in ["fields", "elements"] {
            for e in b.get(key).and_then(Value::as_array).into_iter().flatten() {
                if e.get("type").and_then(Value::as_str) == Some("button") {
                    if let Some(t) = e.get("text") {
                        push(t);
                    }
                } else if e.get("text").is_some() {
                    push(e);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(v: Value) -> Result<Option<Vec<Value>>, BlocksError> {
        parse(Some(&v.to_string()))
    }

    fn errors(v: Value) -> Vec<String> {
        match check(v) {
            Err(BlocksError::Invalid(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn what_the_product_sends_is_accepted() {
        let ok = json!([
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "*Alice* in Lobby", "verbatim": true}]},
            {"type": "section", "text": {"type": "mrkdwn", "text": "hi", "verbatim": true}},
            {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open", "emoji": true},
                "url": "https://o.example/1", "action_id": "open_in_ovice"}]},
            {"type": "divider"}
        ]);
        assert_eq!(check(ok).map(|b| b.map(|b| b.len())), Ok(Some(4)));
    }

    #[test]
    fn not_an_array_of_objects_is_a_format_error() {
        for raw in ["{}", "nope", "[1]", "\"[]\"", "[{\"type\": \"divider\"}"] {
            assert_eq!(parse(Some(raw)), Err(BlocksError::Format), "{raw}");
        }
    }

    #[test]
    fn broken_blocks_are_refused_with_where() {
        let long = "x".repeat(3001);
        assert_eq!(
            errors(json!([{"type": "section", "text": {"type": "mrkdwn", "text": long}}])),
            ["[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]
        );
        assert_eq!(
            errors(json!([{"type": "sectoin", "text": {"type": "mrkdwn", "text": "x"}}])),
            ["[ERROR] unsupported type: sectoin [json-pointer:/blocks/0/type]"]
        );
        assert_eq!(errors(json!([{"type": "section"}])).len(), 1);
        assert_eq!(
            errors(json!([{"type": "section", "text": {"type": "mrkdwn", "text": ""}}])),
            ["[ERROR] must be more than 0 characters [json-pointer:/blocks/0/text/text]"]
        );
        let button = |label: &str, extra: Value| {
            let mut b =
                json!({"type": "button", "text": {"type": "plain_text", "text": label}, "action_id": "a"});
            if let (Some(b), Some(extra)) = (b.as_object_mut(), extra.as_object()) {
                b.extend(extra.clone());
            }
            json!([{"type": "actions", "elements": [b]}])
        };
        assert_eq!(errors(button(&"x".repeat(76), json!({}))).len(), 1);
        assert_eq!(
            errors(button("ok", json!({"url": "javascript:alert(1)"}))).len(),
            1
        );
        assert_eq!(
            errors(button(
                "ok",
                json!({"url": format!("https://o.example/{}", "a".repeat(3000))})
            ))
            .len(),
            1
        );
        assert_eq!(errors(button("ok", json!({"style": "blue"}))).len(), 1);
        assert!(
            check(button(
                "ok",
                json!({"url": "https://o.example/", "style": "primary"})
            ))
            .is_ok()
        );
        // A button's label is plain text only; emoji only on plain text.
        assert_eq!(
            errors(
                json!([{"type": "actions", "elements": [{"type": "button", "text": {"type": "mrkdwn", "text": "x"}}]}])
            ),
            ["[ERROR] must be plain_text [json-pointer:/blocks/0/elements/0/text/type]"]
        );
        assert_eq!(
            errors(json!([{"type": "section", "text": {"type": "mrkdwn", "text": "x", "emoji": true}}]))
                .len(),
            1
        );
        // Eleven context elements; fifty-one blocks; duplicate block ids.
        let el = json!({"type": "plain_text", "text": "x"});
        assert_eq!(
            errors(json!([{"type": "context", "elements": vec![el; 11]}])).len(),
            1
        );
        assert_eq!(
            errors(Value::Array(vec![json!({"type": "divider"}); 51])).len(),
            1
        );
        assert_eq!(
            errors(json!([{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}])),
            ["[ERROR] duplicate block_id [json-pointer:/blocks/1/block_id]"]
        );
        // A section's accessory is checked like the element it is.
        let with_accessory = |accessory: Value| json!([{"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "accessory": accessory}]);
        assert_eq!(
            errors(with_accessory(
                json!({"type": "button", "text": {"type": "plain_text", "text": "x".repeat(76)}})
            )),
            ["[ERROR] must be less than 76 characters [json-pointer:/blocks/0/accessory/text/text]"]
        );
        assert_eq!(
            errors(with_accessory(
                json!({"type": "image", "image_url": "https://o.example/a.png"})
            )),
            ["[ERROR] missing required field: alt_text [json-pointer:/blocks/0/accessory]"]
        );
        assert!(
            check(with_accessory(
                json!({"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": "https://o.example/"})
            ))
            .is_ok()
        );
        assert_eq!(
            errors(button("ok", json!({"accessibility_label": "x".repeat(76)}))).len(),
            1
        );
    }

    #[test]
    fn an_empty_list_is_kept_apart_from_no_blocks() {
        assert_eq!(parse(None), Ok(None));
        assert_eq!(parse(Some(" ")), Ok(None));
        assert_eq!(parse(Some("[]")), Ok(Some(vec![])));
    }

    #[test]
    fn mention_words_act_only_outside_verbatim() {
        assert_eq!(as_slack_reads("hi @here", false), "hi <!here>");
        assert_eq!(as_slack_reads("hi @here", true), "hi @here");
        let blocks = vec![json!({"type": "section", "text": {"type": "mrkdwn", "text": "@channel"}})];
        assert_eq!(texts(&blocks), [("<!channel>".to_owned(), true)]);
    }
}
