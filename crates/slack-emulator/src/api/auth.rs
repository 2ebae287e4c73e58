//! `auth.test`: who the token is. Special tier (hundreds per minute), so never rate limited here.
//! `auth.revoke`: the token revokes itself (Tier 3).

use std::time::Instant;

use serde_json::json;

use super::{ApiReply, ApiRequest, authenticate, parse_bool};
use crate::{
    limits::LimitClass,
    state::{State, TokenStatus},
};

pub fn test(state: &mut State, req: &ApiRequest, now: Instant) -> ApiReply {
    let caller = match authenticate(state, req, None, &[], None, now) {
        Ok(caller) => caller,
        Err(reply) => return *reply,
    };
    let info = &caller.info;
    let Some(ws) = state.workspace(&info.team_id) else {
        return caller.reply(ApiReply::err("invalid_auth"), &[]);
    };
    let user_name = state
        .user(&info.team_id, info.user_id())
        .map(|u| u.name.clone())
        .unwrap_or_default();
    let mut reply = ApiReply::ok(json!({
        "url": ws.url(),
        "team": ws.name,
        "user": user_name,
        "team_id": ws.team_id,
        "user_id": info.user_id(),
        "is_enterprise_install": false,
    }));
    if let Some(bot_id) = info.bot_id() {
        reply = reply.with(json!({"bot_id": bot_id, "app_id": info.app_id()}));
    }
    caller.reply(reply, &[])
}

/// Slack revokes the token the call is made with; `test=1` answers without revoking (`revoked:
/// false`). From then on the token gets `token_revoked` everywhere, this method included.
pub fn revoke(state: &mut State, req: &ApiRequest, now: Instant) -> ApiReply {
    let caller = match authenticate(
        state,
        req,
        None,
        &[],
        Some((LimitClass::Tier3, "auth.revoke")),
        now,
    ) {
        Ok(caller) => caller,
        Err(reply) => return *reply,
    };
    let test = parse_bool(req.arg("test")).unwrap_or(false);
    if !test && let Some(token) = req.token() {
        let token = token.to_owned();
        state.set_token_status(&token, TokenStatus::Revoked);
    }
    caller.reply(ApiReply::ok(json!({ "revoked": !test })), &[])
}
