//! The Slack message of a DM from arbitrary sender name, space name, text, link and language: nothing
//! in its blocks or its notification text can act as a Slack control sequence (a mention, a
//! broadcast, a link), every text stays within Slack's limits, and the emulator's own reading of
//! Block Kit accepts the blocks.
#![no_main]

use delivery::domain::{Language, LinkUrl, SlackText, check_inert, escape_mrkdwn};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (String, String, String, bool, String, bool)| {
    let (sender, space, text, visitor, link, japanese) = input;
    let escaped = escape_mrkdwn(&text);
    assert_eq!(
        escaped
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
        text
    );
    let link = LinkUrl::parse(&link).ok();
    let language = if japanese { Language::Japanese } else { Language::English };
    let message = SlackText {
        sender_name: &sender,
        sender_is_visitor: visitor,
        space_name: &space,
        text: &text,
        link: link.as_ref(),
        language,
    }
    .render();
    if let Err(e) = check_inert(&message, link.as_ref()) {
        panic!("{e}: {message:?}");
    }
    // Slack's rules, as the emulator reads them, independently of the product's types.
    let json = serde_json::to_string(&message.blocks).expect("blocks serialize");
    let blocks = match slack_emulator::blocks::parse(Some(&json)) {
        Ok(Some(blocks)) => blocks,
        other => panic!("refused: {other:?} for {json}"),
    };
    for (shown, _) in slack_emulator::blocks::texts(&blocks) {
        for sequence in ["<!", "<@", "<#", "<http"] {
            assert!(!shown.contains(sequence), "{sequence} in {shown:?}");
        }
    }
    assert!(message.text.chars().count() < 4_000, "the notification text stays short");
});
