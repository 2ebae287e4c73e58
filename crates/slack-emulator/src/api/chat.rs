//! `chat.postMessage` (chat:write; about one message per second per channel).

use std::time::Instant;

use serde_json::json;

use super::{ApiReply, ApiRequest, Caller, authenticate, parse_bool};
use crate::limits::LimitClass;
use crate::record::RecordedMessage;
use crate::state::State;

const ACCEPTED: &[&str] = &["chat:write", "chat:write:user", "chat:write:bot"];

/// Slack truncates at 40,000 characters and rejects longer text with `msg_too_long`.
const MAX_TEXT_CHARS: usize = 40_000;

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
    let has_blocks = ["blocks", "attachments"]
        .iter()
        .any(|k| req.arg(k).is_some_and(|v| !v.is_empty()));
    if text.is_empty() && !has_blocks {
        return ApiReply::err("no_text");
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return ApiReply::err("msg_too_long");
    }
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
        text: text.to_owned(),
        ts: ts.clone(),
        unfurl_links: parse_bool(req.arg("unfurl_links")),
        unfurl_media: parse_bool(req.arg("unfurl_media")),
    });
    let mut message = json!({"type": "message", "text": text, "user": me, "ts": ts, "team": team_id});
    if let (Some(bot_id), Some(m)) = (caller.info.bot_id(), message.as_object_mut()) {
        m.insert("bot_id".into(), json!(bot_id));
        m.insert("app_id".into(), json!(caller.info.app_id()));
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
            Some(im) if im.team_id == team_id && im.members.iter().any(|m| m == me) => Ok(target.to_owned()),
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
