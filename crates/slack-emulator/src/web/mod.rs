//! The emulator's own web page: what each Slack user would see in their direct messages, the way a
//! Slack client shows it (who posted, the app badge for bots, the time, mrkdwn rendered). `GET /`
//! lists the people of every workspace; `GET /client/{team}/{user}` is one person's DMs.
//!
//! Templates are `maud`, which escapes every interpolated value, so nothing a sender wrote can become
//! markup here.

pub mod mrkdwn;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State as AxumState};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};

use crate::record::RecordedMessage;
use crate::state::{Shared, State, User, Workspace};
use mrkdwn::Inline;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", get(index))
        .route("/client/{team}/{user}", get(client))
}

/// One person of a workspace, as the index lists them.
struct Person {
    id: String,
    display: String,
    name: String,
    email: String,
    received: usize,
}

struct WorkspaceView {
    team_id: String,
    name: String,
    domain: String,
    people: Vec<Person>,
}

async fn index(AxumState(shared): AxumState<Arc<Shared>>) -> Html<String> {
    let workspaces: Vec<WorkspaceView> = {
        let state = shared.lock();
        state
            .workspaces
            .iter()
            .map(|ws| WorkspaceView {
                team_id: ws.team_id.clone(),
                name: ws.name.clone(),
                domain: ws.domain.clone(),
                people: humans(ws)
                    .map(|u| Person {
                        id: u.id.clone(),
                        display: display_name(u),
                        name: u.name.clone(),
                        email: u.email.clone().unwrap_or_default(),
                        received: conversations_of(&state, &ws.team_id, &u.id)
                            .iter()
                            .flat_map(|c| &c.messages)
                            .filter(|m| m.user != u.id)
                            .count(),
                    })
                    .collect(),
            })
            .collect()
    };
    page(
        "Slack (emulator)",
        html! {
            main.index {
                h1 { "What each Slack user received" br; small { "各メンバーが Slack で受け取ったメッセージ" } }
                @for ws in &workspaces {
                    section.workspace data-team=(ws.team_id) {
                        h2 { (ws.name) " " span.domain { "(" (ws.domain) ".slack.com)" } }
                        table {
                            thead { tr { th { "Person / メンバー" } th { "Email" } th { "DMs received / 受信 DM" } } }
                            tbody {
                                @for p in &ws.people {
                                    tr {
                                        td { a href={ "/client/" (ws.team_id) "/" (p.id) } { (p.display) } " " span.handle { "@" (p.name) } }
                                        td { (p.email) }
                                        td.count { (p.received) }
                                    }
                                }
                            }
                        }
                    }
                }
                p.note { "Web API: /api/ · OAuth: /oauth/v2/authorize · control: /_emulator/" }
            }
        },
    )
}

/// One DM conversation of the person, oldest message first.
struct Conversation {
    channel: String,
    other: String,
    other_is_app: bool,
    messages: Vec<RecordedMessage>,
}

struct MessageView {
    ts: String,
    time: String,
    author: String,
    author_id: String,
    is_app: bool,
    parts: Vec<Inline>,
    /// Shown instead of the text when the message has blocks (Slack shows `text` only in
    /// notifications then).
    blocks: Vec<BlockView>,
    edited: bool,
}

/// One block as a Slack client shows it.
enum BlockView {
    Context(Vec<Vec<Inline>>),
    Section(Vec<Inline>),
    Buttons(Vec<(String, String)>),
    Divider,
    Header(String),
}

fn block_views(blocks: &[serde_json::Value], name_of: &dyn Fn(&str) -> Option<String>) -> Vec<BlockView> {
    use serde_json::Value;
    let text_of = |t: &Value| -> Vec<Inline> {
        let text = t.get("text").and_then(Value::as_str).unwrap_or_default();
        match t.get("type").and_then(Value::as_str) {
            Some("mrkdwn") => {
                let verbatim = t.get("verbatim").and_then(Value::as_bool).unwrap_or(false);
                mrkdwn::parse(&crate::blocks::as_slack_reads(text, verbatim), name_of)
            }
            _ => vec![Inline::Text(text.to_owned())],
        }
    };
    blocks
        .iter()
        .filter_map(|b| {
            let elements = || b.get("elements").and_then(Value::as_array).into_iter().flatten();
            Some(match b.get("type").and_then(Value::as_str)? {
                "context" => BlockView::Context(elements().map(text_of).collect()),
                "section" => BlockView::Section(b.get("text").map(text_of).unwrap_or_default()),
                "actions" => BlockView::Buttons(
                    elements()
                        .map(|e| {
                            let label = e
                                .get("text")
                                .map(|t| mrkdwn::plain(&text_of(t)))
                                .unwrap_or_default();
                            let url = e.get("url").and_then(Value::as_str).unwrap_or("#").to_owned();
                            (label, url)
                        })
                        .collect(),
                ),
                "divider" => BlockView::Divider,
                "header" => BlockView::Header(
                    b.get("text")
                        .map(|t| mrkdwn::plain(&text_of(t)))
                        .unwrap_or_default(),
                ),
                _ => return None,
            })
        })
        .collect()
}

fn render_blocks(blocks: &[BlockView]) -> Markup {
    html! {
        @for b in blocks {
            @match b {
                BlockView::Context(items) => div.block.context { @for i in items { span { (render(i)) } } },
                BlockView::Section(parts) => div.block.section { (render(parts)) },
                BlockView::Buttons(buttons) => div.block.actions {
                    @for (label, url) in buttons {
                        a.button href=(url) rel="noopener noreferrer" target="_blank" { (label) }
                    }
                },
                BlockView::Divider => hr.block;,
                BlockView::Header(t) => div.block.header { (t) },
            }
        }
    }
}

async fn client(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path((team, user)): Path<(String, String)>,
) -> Response {
    let state = shared.lock();
    let Some(ws) = state.workspace(&team) else {
        return not_found("No such workspace.");
    };
    let Some(me) = ws.users.iter().find(|u| u.id == user && !u.is_bot) else {
        return not_found("No such person in this workspace.");
    };
    let people: Vec<(String, String)> = humans(ws).map(|u| (u.id.clone(), display_name(u))).collect();
    let name_of = |id: &str| state.user(&team, id).map(|u| u.name.clone());
    let conversations: Vec<(Conversation, Vec<MessageView>)> = conversations_of(&state, &team, &user)
        .into_iter()
        .map(|c| {
            let views = c
                .messages
                .iter()
                .map(|m| {
                    let author = state.user(&team, &m.user);
                    MessageView {
                        ts: m.ts.clone(),
                        time: clock_time(&m.ts),
                        author: author.map(display_name).unwrap_or_else(|| m.user.clone()),
                        author_id: m.user.clone(),
                        is_app: m.is_bot,
                        parts: mrkdwn::parse(&m.text, &name_of),
                        blocks: m
                            .blocks
                            .as_deref()
                            .map(|b| block_views(b, &name_of))
                            .unwrap_or_default(),
                        edited: m.edited_ts.is_some(),
                    }
                })
                .collect();
            (c, views)
        })
        .collect();
    let me_display = display_name(me);
    let ws_name = ws.name.clone();
    drop(state);

    page(
        &format!("{me_display} — Slack (emulator)"),
        html! {
            div.client {
                aside {
                    h2 { (ws_name) }
                    p.signed-in { "Signed in as / サインイン中" br; strong { (me_display) } }
                    h3 { "People / メンバー" }
                    ul {
                        @for (id, name) in &people {
                            li.current[*id == user] { a href={ "/client/" (team) "/" (id) } { (name) } }
                        }
                    }
                    p { a href="/" { "All workspaces / 一覧" } }
                }
                main data-user=(user) {
                    h1 { "Direct messages / ダイレクトメッセージ" }
                    @if conversations.is_empty() {
                        p.empty { "No direct messages yet. / まだ DM はありません。" }
                    }
                    @for (c, messages) in &conversations {
                        section.conversation data-channel=(c.channel) {
                            h2 {
                                (c.other)
                                @if c.other_is_app { " " span.app { "APP" } }
                            }
                            @for m in messages {
                                div.message data-ts=(m.ts) data-author=(m.author_id) {
                                    div.avatar { (m.author.chars().next().map_or('?', |c| c.to_ascii_uppercase())) }
                                    div.body {
                                        div.meta {
                                            strong.author { (m.author) }
                                            @if m.is_app { " " span.app { "APP" } }
                                            " " time title=(m.ts) { (m.time) }
                                        }
                                        div.text {
                                            @if m.blocks.is_empty() { (render(&m.parts)) } @else { (render_blocks(&m.blocks)) }
                                            // Slack marks a changed message after its text.
                                            @if m.edited { " " span.edited { "(edited / 編集済み)" } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}

/// The person's DM conversations, the one with the latest message first.
fn conversations_of(state: &State, team: &str, user: &str) -> Vec<Conversation> {
    let mut out: Vec<Conversation> = state
        .ims
        .iter()
        .filter(|(_, im)| im.team_id == team && im.members.iter().any(|m| m == user))
        .map(|(channel, im)| {
            let other_id = im.members.iter().find(|m| *m != user).unwrap_or(&im.members[0]);
            let other = state.user(team, other_id);
            Conversation {
                channel: channel.clone(),
                other: other.map(display_name).unwrap_or_else(|| other_id.clone()),
                other_is_app: other.is_some_and(|u| u.is_bot),
                messages: state
                    .messages
                    .iter()
                    .filter(|m| m.team_id == team && m.channel == *channel)
                    .cloned()
                    .collect(),
            }
        })
        .filter(|c| !c.messages.is_empty())
        .collect();
    out.sort_by(|a, b| {
        let last = |c: &Conversation| c.messages.last().map(|m| m.ts.clone()).unwrap_or_default();
        last(b).cmp(&last(a))
    });
    out
}

fn humans(ws: &Workspace) -> impl Iterator<Item = &User> {
    ws.users.iter().filter(|u| !u.is_bot && !u.deleted)
}

fn display_name(u: &User) -> String {
    u.real_name.clone().unwrap_or_else(|| u.name.clone())
}

/// `HH:MM:SS UTC` of a Slack timestamp (`seconds.micros`).
fn clock_time(ts: &str) -> String {
    let secs: u64 = ts.split('.').next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let day = secs % 86_400;
    format!("{:02}:{:02}:{:02} UTC", day / 3600, day % 3600 / 60, day % 60)
}

fn render(parts: &[Inline]) -> Markup {
    html! {
        @for part in parts {
            @match part {
                Inline::Text(t) => (t),
                Inline::Bold(n) => b { (render(n)) },
                Inline::Italic(n) => i { (render(n)) },
                Inline::Strike(n) => s { (render(n)) },
                Inline::Code(c) => code { (c) },
                Inline::Preformatted(c) => pre { (c) },
                Inline::Link { url, label } => a href=(url) rel="noopener noreferrer" target="_blank" { (label) },
                Inline::Mention { user_id, label } => span.mention data-user=(user_id) { (label) },
                Inline::Broadcast(b) => span.mention.broadcast { (b) },
                Inline::Channel(c) => span.channel { (c) },
                Inline::LineBreak => br;,
            }
        }
    }
}

const STYLE: &str = "body{font-family:Lato,'Hiragino Sans','Noto Sans CJK JP',Helvetica,Arial,sans-serif;\
margin:0;color:#1d1c1d;font-size:15px}\
header{padding:10px 20px;background:#4a154b;color:#fff}header a{color:#fff;text-decoration:none}\
.index{max-width:900px;margin:24px auto;padding:0 16px}.index small{font-size:60%;color:#616061}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #ddd}\
.domain,.handle,.note{color:#616061}.count{text-align:right}\
.client{display:flex;min-height:calc(100vh - 42px)}\
aside{width:230px;background:#3f0e40;color:#cfc3cf;padding:12px 16px}aside a{color:#cfc3cf}\
aside h2{color:#fff;margin:4px 0 12px}aside ul{list-style:none;padding:0}aside li{padding:3px 0}\
aside li.current a{color:#fff;font-weight:bold}\
main{flex:1;padding:8px 24px}main h1{font-size:20px}\
.conversation{border-top:1px solid #ddd;padding:8px 0}.conversation h2{font-size:17px}\
.message{display:flex;gap:10px;padding:6px 0}\
.avatar{width:36px;height:36px;border-radius:4px;background:#e8e8e8;display:flex;align-items:center;\
justify-content:center;font-weight:bold}\
.meta time{color:#616061;font-size:12px}\
.edited{color:#616061;font-size:12px}\
.app{background:#e8e8e8;color:#616061;font-size:10px;font-weight:bold;padding:1px 4px;border-radius:2px}\
.text{white-space:normal;line-height:1.45}.text a{color:#1264a3}\
.mention{background:#e8f5fa;color:#1264a3;border-radius:3px;padding:0 2px}\
.broadcast{background:#fef3c7;color:#7c4a03}\
.block{margin:2px 0}.context{color:#616061;font-size:13px}.context span{margin-right:8px}\
.section{white-space:pre-wrap}.header{font-weight:bold;font-size:17px}\
.actions{margin-top:6px}.button{display:inline-block;border:1px solid #bbb;border-radius:4px;\
padding:3px 12px;color:#1d1c1d!important;text-decoration:none;font-weight:bold;font-size:13px}\
code{background:#f6f6f6;border:1px solid #ddd;border-radius:3px;color:#e01e5a;padding:0 3px}\
pre{background:#f6f6f6;border:1px solid #ddd;border-radius:4px;padding:8px}";

fn page(title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    title { (title) }
                    style { (maud::PreEscaped(STYLE)) }
                }
                body {
                    header { a href="/" { strong { "slack" } " (emulator)" } }
                    (body)
                }
            }
        }
        .into_string(),
    )
}

fn not_found(message: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        page("Not found", html! { main.index { p { (message) } } }),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_time_of_a_slack_timestamp() {
        assert_eq!(clock_time("1764700000.000100"), "18:26:40 UTC");
        assert_eq!(clock_time("garbage"), "00:00:00 UTC");
    }

    #[test]
    fn rendered_text_escapes_what_the_sender_wrote() {
        let parts = mrkdwn::parse("&lt;script&gt;alert(1)&lt;/script&gt; *hi*", &|_| None);
        let html = render(&parts).into_string();
        assert_eq!(html, "&lt;script&gt;alert(1)&lt;/script&gt; <b>hi</b>");
    }
}
