//! Slack's `mrkdwn` as a Slack client shows it: `*bold*`, `_italic_`, `~strike~`, `` `code` ``,
//! ```` ```preformatted``` ````, `<url|label>` links, `<@U…>` mentions, `<!here>`-style broadcasts, and
//! the three entities `&amp;` `&lt;` `&gt;` shown as the characters they stand for. Text a sender
//! escaped therefore appears literally, exactly as it would in Slack, and a broadcast or mention that
//! got through unescaped stands out (`Inline::Broadcast`, `Inline::Mention`).

/// One piece of a rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    Text(String),
    Bold(Vec<Inline>),
    Italic(Vec<Inline>),
    Strike(Vec<Inline>),
    Code(String),
    Preformatted(String),
    Link {
        url: String,
        label: String,
    },
    /// `<@U123>`: shown as `@name`.
    Mention {
        user_id: String,
        label: String,
    },
    /// `<!here>`, `<!channel>`, `<!everyone>`, `<!subteam^…>`: they would notify many people.
    Broadcast(String),
    /// `<#C123|name>`
    Channel(String),
    LineBreak,
}

/// Parses `text` (as sent to `chat.postMessage`); `user_name` turns a user id into a display name.
pub fn parse(text: &str, user_name: &dyn Fn(&str) -> Option<String>) -> Vec<Inline> {
    let mut out = Vec::new();
    // `plain` is where the text not yet emitted starts; `i` always sits on a character boundary.
    let (mut plain, mut i) = (0, 0);
    while i < text.len() {
        let rest = &text[i..];
        let taken = if let Some(body) = rest.strip_prefix("```") {
            body.find("```")
                .map(|end| (Inline::Preformatted(unescape(&body[..end])), 3 + end + 3))
        } else if rest.starts_with('\n') {
            Some((Inline::LineBreak, 1))
        } else if let Some(body) = rest.strip_prefix('<') {
            // An unclosed `<` stays plain text.
            match body.find(['>', '\n']) {
                Some(end) if body[end..].starts_with('>') => Some((tag(&body[..end], user_name), end + 2)),
                _ => None,
            }
        } else {
            None
        };
        match taken {
            Some((inline, len)) => {
                formatted(&text[plain..i], &mut out);
                out.push(inline);
                i += len;
                plain = i;
            }
            None => i += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    formatted(&text[plain..], &mut out);
    out
}

/// One `<…>` tag: a link, a mention, a broadcast or a channel.
fn tag(inner: &str, user_name: &dyn Fn(&str) -> Option<String>) -> Inline {
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (t, Some(unescape(l))),
        None => (inner, None),
    };
    if let Some(id) = target.strip_prefix('@') {
        let name = label.or_else(|| user_name(id)).unwrap_or_else(|| id.to_owned());
        return Inline::Mention {
            user_id: id.to_owned(),
            label: format!("@{}", name.trim_start_matches('@')),
        };
    }
    if let Some(special) = target.strip_prefix('!') {
        let name = special.split('^').next().unwrap_or(special);
        return match name {
            "here" | "channel" | "everyone" => Inline::Broadcast(format!("@{name}")),
            "subteam" => Inline::Broadcast(label.unwrap_or_else(|| "@group".to_owned())),
            // `<!date^…|fallback>` and anything newer: Slack shows the fallback text.
            _ => Inline::Text(label.unwrap_or_default()),
        };
    }
    if let Some(id) = target.strip_prefix('#') {
        return Inline::Channel(format!("#{}", label.unwrap_or_else(|| id.to_owned())));
    }
    let url = unescape(target);
    Inline::Link {
        label: label.unwrap_or_else(|| url.clone()),
        url,
    }
}

/// Text between tags: entities decoded, then `*`, `_`, `~` and `` ` `` spans.
fn formatted(raw: &str, out: &mut Vec<Inline>) {
    if raw.is_empty() {
        return;
    }
    let chars: Vec<char> = unescape(raw).chars().collect();
    spans(&chars, out);
}

fn spans(chars: &[char], out: &mut Vec<Inline>) {
    let mut text = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '*' | '_' | '~' | '`')
            && opens(chars, i)
            && let Some(close) = (i + 2..chars.len()).find(|&k| chars[k] == c && closes(chars, k))
        {
            if !text.is_empty() {
                out.push(Inline::Text(std::mem::take(&mut text)));
            }
            let inner = &chars[i + 1..close];
            let span = if c == '`' {
                Inline::Code(inner.iter().collect())
            } else {
                let mut nested = Vec::new();
                spans(inner, &mut nested);
                match c {
                    '*' => Inline::Bold(nested),
                    '_' => Inline::Italic(nested),
                    _ => Inline::Strike(nested),
                }
            };
            out.push(span);
            i = close + 1;
            continue;
        }
        text.push(c);
        i += 1;
    }
    if !text.is_empty() {
        out.push(Inline::Text(text));
    }
}

/// A marker opens a span at the start or after a space or punctuation, before a non-space.
fn opens(chars: &[char], i: usize) -> bool {
    let before_ok = i == 0 || !chars[i - 1].is_alphanumeric();
    let after_ok = chars.get(i + 1).is_some_and(|c| !c.is_whitespace());
    before_ok && after_ok
}

/// A marker closes a span after a non-space, before the end, a space or punctuation.
fn closes(chars: &[char], k: usize) -> bool {
    let before_ok = !chars[k - 1].is_whitespace();
    let after_ok = chars.get(k + 1).is_none_or(|c| !c.is_alphanumeric());
    before_ok && after_ok
}

/// Slack's three entities, as a client shows them.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// The whole message as plain text (what a notification would show), for tests and titles.
pub fn plain(parts: &[Inline]) -> String {
    let mut s = String::new();
    for p in parts {
        match p {
            Inline::Text(t) | Inline::Code(t) | Inline::Preformatted(t) => s.push_str(t),
            Inline::Bold(n) | Inline::Italic(n) | Inline::Strike(n) => s.push_str(&plain(n)),
            Inline::Link { label, .. } => s.push_str(label),
            Inline::Mention { label, .. } => s.push_str(label),
            Inline::Broadcast(b) | Inline::Channel(b) => s.push_str(b),
            Inline::LineBreak => s.push('\n'),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(id: &str) -> Option<String> {
        (id == "U0ALICE").then(|| "alice".to_owned())
    }

    fn p(text: &str) -> Vec<Inline> {
        parse(text, &names)
    }

    fn t(s: &str) -> Inline {
        Inline::Text(s.to_owned())
    }

    #[test]
    fn escaped_control_sequences_show_literally_and_notify_nobody() {
        let parts = p("&lt;!channel&gt; and &lt;@U0ALICE&gt; &amp; co");
        assert_eq!(parts, vec![t("<!channel> and <@U0ALICE> & co")]);
    }

    #[test]
    fn unescaped_tags_become_links_mentions_and_broadcasts() {
        let parts = p("<!here> <@U0ALICE> <@U9> <https://x.test/a?b=1&amp;c=2|Open in ovice> <#C1|general>");
        assert_eq!(
            parts,
            vec![
                Inline::Broadcast("@here".into()),
                t(" "),
                Inline::Mention {
                    user_id: "U0ALICE".into(),
                    label: "@alice".into()
                },
                t(" "),
                Inline::Mention {
                    user_id: "U9".into(),
                    label: "@U9".into()
                },
                t(" "),
                Inline::Link {
                    url: "https://x.test/a?b=1&c=2".into(),
                    label: "Open in ovice".into()
                },
                t(" "),
                Inline::Channel("#general".into()),
            ]
        );
    }

    #[test]
    fn emphasis_needs_word_boundaries() {
        assert_eq!(
            p("*Carol* said _hi_ ~no~ `x*y`"),
            vec![
                Inline::Bold(vec![t("Carol")]),
                t(" said "),
                Inline::Italic(vec![t("hi")]),
                t(" "),
                Inline::Strike(vec![t("no")]),
                t(" "),
                Inline::Code("x*y".into()),
            ]
        );
        assert_eq!(
            p("2*3*4 snake_case_name * not bold *"),
            vec![t("2*3*4 snake_case_name * not bold *")]
        );
    }

    #[test]
    fn lines_and_blocks() {
        assert_eq!(
            p("a\n```<b> *c*```\nd <unclosed"),
            vec![
                t("a"),
                Inline::LineBreak,
                Inline::Preformatted("<b> *c*".into()),
                Inline::LineBreak,
                t("d <unclosed"),
            ]
        );
        assert_eq!(plain(&p("*x* <https://a.test|y>")), "x y");
    }
}
