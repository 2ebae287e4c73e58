//! `chat.postMessage` (chat:write; about one message per second per channel), and `chat.update` and
//! `chat.delete` (Tier 3) of a message the caller posted: Slack lets no one else change it.

use std::time::Instant;

use serde_json::{Value, json};

use crate::web::mrkdwn::Inline;

use super::{ApiReply, ApiRequest, Caller, authenticate, parse_bool};
use crate::limits::LimitClass;
use crate::record::{ChangeKind, RecordedChange, RecordedMessage};
use crate::state::State;

const ACCEPTED: &[&str] = &["chat:write", "chat:write:user", "chat:write:bot"];

/// chat.postMessage's `text` limit: longer is refused with `msg_too_long`.
const MAX_POST_TEXT_CHARS: usize = 40_000;
/// chat.update's: "The `text` field cannot exceed 4,000 characters" (`msg_too_long`).
const MAX_UPDATE_TEXT_CHARS: usize = 4_000;

pub fn post_message(state: &mut State, req: &ApiRequest, now: Instant) -> ApiReply {
    let caller = match authenticate(state, req, Some("chat:write"), ACCEPTED, None, now) {
        Ok(caller) => caller,
        Err(reply) => return *reply,
    };
    let reply = post(state, req, &caller, now);
    caller.reply(reply, ACCEPTED)
}

fn post(state: &mut State, req: &ApiRequest, caller: &Caller, now: Instant) -> ApiReply {
    let team_id = caller.info.team_id.clone();
    let me = caller.info.user_id().to_owned();
    let is_bot = caller.info.bot_id().is_some();
    let Some(target) = req.arg("channel").map(str::trim).filter(|c| !c.is_empty()) else {
        return ApiReply::err("channel_not_found");
    };
    let text = req.arg("text").unwrap_or("");
    // An empty list is no blocks.
    let blocks = match read_blocks(req, text, MAX_POST_TEXT_CHARS) {
        Ok(blocks) => blocks.filter(|b| !b.is_empty()),
        Err(reply) => return *reply,
    };
    let channel = match resolve_channel(state, &team_id, &me, is_bot, target) {
        Ok(channel) => channel,
        Err(code) => return ApiReply::err(code),
    };
    let key = format!("{team_id}/{channel}");
    if let Err(retry) = state.limiter.check(LimitClass::PostMessage, &key, now) {
        return ApiReply::rate_limited(Some(retry));
    }
    let ts = state.next_ts();
    state.messages.push(RecordedMessage {
        team_id: team_id.clone(),
        channel: channel.clone(),
        user: me.clone(),
        bot_id: caller.info.bot_id().map(str::to_owned),
        is_bot,
        token_kind: caller.info.kind(),
        alerts: alerts(text, blocks.as_deref()),
        text: text.to_owned(),
        blocks: blocks.clone(),
        ts: ts.clone(),
        unfurl_links: parse_bool(req.arg("unfurl_links")),
        unfurl_media: parse_bool(req.arg("unfurl_media")),
        edited_ts: None,
        posted_at: Some(now),
    });
    let mut message = json!({"type": "message", "text": text, "user": me, "ts": ts, "team": team_id});
    if let (Some(bot_id), Some(m)) = (caller.info.bot_id(), message.as_object_mut()) {
        m.insert("bot_id".into(), json!(bot_id));
        m.insert("app_id".into(), json!(caller.info.app_id()));
    }
    if let (Some(blocks), Some(m)) = (&blocks, message.as_object_mut()) {
        m.insert("blocks".into(), json!(blocks));
    }
    ApiReply::ok(json!({"channel": channel, "ts": ts, "message": message}))
}

/// A `D…` id the caller is a member of, or a user id meaning the DM between caller and user.
fn resolve_channel(
    state: &mut State,
    team_id: &str,
    me: &str,
    is_bot: bool,
    target: &str,
) -> Result<String, &'static str> {
    if target.starts_with('D') {
        return match state.ims.get(target) {
            Some(im) if im.team_id == team_id && im.members.iter().any(|m| m == me) => {
                if peer_deactivated(state, target, me) {
                    Err("is_archived")
                } else {
                    Ok(target.to_owned())
                }
            }
            _ => Err("channel_not_found"),
        };
    }
    if target.starts_with('U') || target.starts_with('W') {
        let user = state.user(team_id, target).ok_or("channel_not_found")?;
        if user.deleted {
            // Slack archives the DM of a deactivated account.
            return Err("is_archived");
        }
        if user.is_bot && is_bot && user.id != me {
            return Err("cannot_dm_bot");
        }
        return Ok(state.open_im(team_id, me, target).0);
    }
    // Public and private channels are not emulated.
    Err("channel_not_found")
}

/// Whether the other person of DM `channel` has been deactivated: Slack archives that DM.
fn peer_deactivated(state: &State, channel: &str, me: &str) -> bool {
    state.ims.get(channel).is_some_and(|im| {
        im.members
            .iter()
            .filter(|m| m.as_str() != me)
            .any(|m| state.user(&im.team_id, m).is_some_and(|u| u.deleted))
    })
}

/// `chat.update`: new text for a message the caller posted, in a conversation given by its id.
pub fn update(state: &mut State, req: &ApiRequest, now: Instant) -> ApiReply {
    authenticated_change(state, req, Change::Update, now)
}

/// `chat.delete`: removes a message the caller posted.
pub fn delete(state: &mut State, req: &ApiRequest, now: Instant) -> ApiReply {
    authenticated_change(state, req, Change::Delete, now)
}

/// Either method: chat:write, Tier 3 per method.
fn authenticated_change(state: &mut State, req: &ApiRequest, what: Change, now: Instant) -> ApiReply {
    let method = match what {
        Change::Update => "chat.update",
        Change::Delete => "chat.delete",
    };
    let limit = Some((LimitClass::Tier3, method));
    let caller = match authenticate(state, req, Some("chat:write"), ACCEPTED, limit, now) {
        Ok(caller) => caller,
        Err(reply) => return *reply,
    };
    let reply = change(state, req, &caller, what, now);
    caller.reply(reply, ACCEPTED)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Update,
    Delete,
}

fn change(state: &mut State, req: &ApiRequest, caller: &Caller, what: Change, now: Instant) -> ApiReply {
    let team_id = caller.info.team_id.clone();
    let me = caller.info.user_id().to_owned();
    let Some(channel) = req.arg("channel").map(str::trim).filter(|c| !c.is_empty()) else {
        return super::missing_argument("channel");
    };
    let Some(ts) = req.arg("ts").map(str::trim).filter(|t| !t.is_empty()) else {
        return super::missing_argument("ts");
    };
    // A user id is not a conversation here (only chat.postMessage opens the DM for one).
    match state.ims.get(channel) {
        Some(im) if im.team_id == team_id && im.members.contains(&me) => {}
        _ => return ApiReply::err("channel_not_found"),
    }
    // "The message cannot be edited within a frozen, archived or deleted channel."
    if what == Change::Update && peer_deactivated(state, channel, &me) {
        return ApiReply::err("is_inactive");
    }
    let text = req.arg("text").unwrap_or("");
    let blocks = if what == Change::Update {
        match read_blocks(req, text, MAX_UPDATE_TEXT_CHARS) {
            Ok(blocks) => blocks,
            Err(reply) => return *reply,
        }
    } else {
        None
    };
    let Some(index) = state
        .messages
        .iter()
        .position(|m| m.team_id == team_id && m.channel == channel && m.ts == ts)
    else {
        return ApiReply::err("message_not_found");
    };
    let message = &state.messages[index];
    let mine = message.user == me && message.bot_id.as_deref() == caller.info.bot_id();
    if !mine {
        return ApiReply::err(match what {
            Change::Update => "cant_update_message",
            Change::Delete => "cant_delete_message",
        });
    }
    if what == Change::Update
        && let (Some(window), Some(posted_at)) = (state.edit_window, message.posted_at)
        && now.saturating_duration_since(posted_at) > window
    {
        return ApiReply::err("edit_window_closed");
    }
    let record = |kind| RecordedChange {
        team_id: team_id.clone(),
        channel: channel.to_owned(),
        ts: ts.to_owned(),
        user: me.clone(),
        token_kind: caller.info.kind(),
        kind,
    };
    match what {
        Change::Update => {
            let edited_ts = state.next_ts();
            let message = &mut state.messages[index];
            message.text = text.to_owned();
            // Without `blocks` Slack keeps the old ones (and shows them, not the new text); `[]`
            // removes them.
            let blocks = match blocks {
                None => message.blocks.clone(),
                Some(b) if b.is_empty() => None,
                Some(b) => Some(b),
            };
            message.blocks = blocks.clone();
            message.alerts = alerts(text, blocks.as_deref());
            message.edited_ts = Some(edited_ts.clone());
            let mut shown = json!({"type": "message", "text": text, "user": me, "ts": ts, "team": team_id,
                "edited": {"user": me, "ts": edited_ts}});
            if let (Some(bot_id), Some(m)) = (caller.info.bot_id(), shown.as_object_mut()) {
                m.insert("bot_id".into(), json!(bot_id));
            }
            if let (Some(blocks), Some(m)) = (&blocks, shown.as_object_mut()) {
                m.insert("blocks".into(), json!(blocks));
            }
            state.changes.push(record(ChangeKind::Updated {
                text: text.to_owned(),
                blocks,
            }));
            ApiReply::ok(json!({"channel": channel, "ts": ts, "text": text, "message": shown}))
        }
        Change::Delete => {
            state.messages.remove(index);
            state.changes.push(record(ChangeKind::Deleted));
            ApiReply::ok(json!({"channel": channel, "ts": ts}))
        }
    }
}

/// `text` and `blocks` as both methods check them: refused blocks, no text where there are no
/// blocks, or text over Slack's limit.
fn read_blocks(req: &ApiRequest, text: &str, max_text: usize) -> Result<Option<Vec<Value>>, Box<ApiReply>> {
    let blocks = match crate::blocks::parse(req.arg("blocks")) {
        Ok(blocks) => blocks,
        Err(e) => {
            let messages = e.messages();
            return Err(Box::new(ApiReply::err(e.code()).with(
                json!({"errors": messages, "response_metadata": {"messages": messages}}),
            )));
        }
    };
    // Attachments count as content only as a non-empty JSON array of objects, at most 100.
    let has_attachments = match req.arg("attachments").map(str::trim).filter(|v| !v.is_empty()) {
        None => false,
        Some(raw) => match serde_json::from_str::<Value>(raw) {
            Ok(Value::Array(items)) if items.iter().all(Value::is_object) => {
                if items.len() > 100 {
                    return Err(Box::new(ApiReply::err("too_many_attachments")));
                }
                !items.is_empty()
            }
            _ => return Err(Box::new(ApiReply::err("invalid_attachments"))),
        },
    };
    let has_blocks = blocks.as_ref().is_some_and(|b| !b.is_empty());
    if text.is_empty() && !has_blocks && !has_attachments {
        return Err(Box::new(ApiReply::err("no_text")));
    }
    if text.chars().count() > max_text {
        return Err(Box::new(ApiReply::err("msg_too_long")));
    }
    Ok(blocks)
}

/// What in the message would notify people beyond the conversation: each broadcast (`<!here>`…)
/// or mention (`<@U…>`) Slack would act on, in the text or in the blocks as Slack reads them.
fn alerts(text: &str, blocks: Option<&[Value]>) -> Vec<String> {
    let mut mrkdwn = vec![text.to_owned()];
    mrkdwn.extend(
        crate::blocks::texts(blocks.unwrap_or_default())
            .into_iter()
            .filter(|(_, is_mrkdwn)| *is_mrkdwn)
            .map(|(t, _)| t),
    );
    let mut out = Vec::new();
    for t in mrkdwn {
        for part in crate::web::mrkdwn::parse(&t, &|_| None) {
            collect_alerts(&part, &mut out);
        }
    }
    out
}

fn collect_alerts(part: &Inline, out: &mut Vec<String>) {
    match part {
        Inline::Broadcast(b) => out.push(b.clone()),
        Inline::Mention { user_id, .. } => out.push(format!("@{user_id}")),
        Inline::Bold(n) | Inline::Italic(n) | Inline::Strike(n) => {
            n.iter().for_each(|p| collect_alerts(p, out))
        }
        _ => {}
    }
}
