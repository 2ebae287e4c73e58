//! `conversations.open` for 1:1 DMs (im:write, Tier 3). Multi-person DMs are not emulated.

use std::time::Instant;

use serde_json::json;

use super::{ApiReply, ApiRequest, authenticate, parse_bool};
use crate::limits::LimitClass;
use crate::state::State;

/// Slack grants conversations.open with any of these; `missing_scope` names `im:write`.
const ACCEPTED: &[&str] = &["im:write", "channels:manage", "groups:write", "mpim:write"];

pub fn open(state: &mut State, req: &ApiRequest, now: Instant) -> ApiReply {
    let limit = Some((LimitClass::Tier3, "conversations.open"));
    let caller = match authenticate(state, req, Some("im:write"), ACCEPTED, limit, now) {
        Ok(caller) => caller,
        Err(reply) => return *reply,
    };
    let reply = open_for(
        state,
        req,
        caller.info.team_id.clone(),
        caller.info.user_id().to_owned(),
        caller.info.bot_id().is_some(),
    );
    caller.reply(reply, ACCEPTED)
}

fn open_for(state: &mut State, req: &ApiRequest, team_id: String, me: String, me_is_bot: bool) -> ApiReply {
    if let Some(channel) = req.arg("channel").filter(|c| !c.is_empty()) {
        // Resuming a known DM the caller is part of.
        return match state.ims.get(channel) {
            Some(im) if im.team_id == team_id && im.members.contains(&me) => {
                ApiReply::ok(json!({"no_op": true, "already_open": true, "channel": {"id": channel}}))
            }
            _ => ApiReply::err("channel_not_found"),
        };
    }
    let Some(users) = req.arg("users") else {
        return ApiReply::err("users_list_not_supplied");
    };
    let mut others: Vec<&str> = Vec::new();
    for id in users.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if id != me && !others.contains(&id) {
            others.push(id);
        }
    }
    if users.split(',').all(|s| s.trim().is_empty()) {
        return ApiReply::err("users_list_not_supplied");
    }
    if others.len() > 8 {
        return ApiReply::err("too_many_users");
    }
    for id in &others {
        match state.user(&team_id, id) {
            None => return ApiReply::err("user_not_found"),
            Some(u) if u.deleted => return ApiReply::err("user_disabled"),
            Some(u) if u.is_bot && me_is_bot => return ApiReply::err("cannot_dm_bot"),
            Some(_) => {}
        }
    }
    let other = match others.as_slice() {
        [] => me.clone(), // a DM with oneself, as Slack allows
        [one] => (*one).to_owned(),
        _ => return ApiReply::err("method_not_supported_for_channel_type"),
    };
    let (id, existed) = state.open_im(&team_id, &me, &other);
    let channel = if parse_bool(req.arg("return_im")) == Some(true) {
        json!({"id": id, "is_im": true, "user": other, "is_open": true})
    } else {
        json!({"id": id})
    };
    let reply = ApiReply::ok(json!({"channel": channel}));
    if existed {
        reply.with(json!({"no_op": true, "already_open": true}))
    } else {
        reply
    }
}
