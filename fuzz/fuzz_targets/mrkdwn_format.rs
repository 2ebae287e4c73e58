//! The Slack text of a message from arbitrary sender name, space name, text and link: nothing in
//! it can act as a Slack control sequence, and the text stays within its cap.
#![no_main]

use delivery::domain::{LinkUrl, MAX_SLACK_TEXT_CHARS, SHORTENED_MARKER, SlackText, escape_mrkdwn};
use libfuzzer_sys::fuzz_target;

fn assert_inert(s: &str) {
    assert!(!s.contains('<') && !s.contains('>'), "markup survived: {s:?}");
    for (i, _) in s.match_indices('&') {
        let rest = &s[i..];
        assert!(
            rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;"),
            "a bare & in {s:?}"
        );
    }
}

fuzz_target!(|input: (String, String, String, bool, String)| {
    let (sender, space, text, visitor, link) = input;
    let escaped = escape_mrkdwn(&text);
    assert_inert(&escaped);
    assert_eq!(
        escaped
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
        text
    );

    let link = LinkUrl::parse(&link).ok();
    if let Some(l) = &link {
        let s = l.as_str();
        assert!(s.starts_with("http://") || s.starts_with("https://"), "{s}");
        assert!(
            !s.contains(['<', '>', '|']) && !s.contains(char::is_whitespace),
            "{s:?}"
        );
    }
    let rendered = SlackText {
        sender_name: &sender,
        sender_is_visitor: visitor,
        space_name: &space,
        text: &text,
        link: link.as_ref(),
    }
    .render();
    let body = match &link {
        Some(l) => {
            let suffix = format!("\n<{}|Open in ovice>", escape_mrkdwn(l.as_str()));
            rendered
                .strip_suffix(suffix.as_str())
                .expect("the link comes last")
        }
        None => rendered.as_str(),
    };
    assert_inert(body);
    // Names are at most 80 characters (+ `…`) each; the text at most the cap (+ the marker).
    let limit = 2 * 81 + " (visitor) in :\n".len() + MAX_SLACK_TEXT_CHARS + SHORTENED_MARKER.chars().count();
    assert!(
        body.chars().count() <= limit,
        "{} > {limit}",
        body.chars().count()
    );
});
