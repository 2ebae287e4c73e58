//! `users.info` (users:read, Tier 4) and `users.lookupByEmail` (users:read.email, Tier 3).

use std::time::Instant;

use serde_json::{Value, json};

use super::{ApiReply, ApiRequest, authenticate, missing_argument};
use crate::limits::LimitClass;
use crate::state::{State, User};

const READ: &[&str] = &["users:read"];
const READ_EMAIL: &[&str] = &["users:read.email"];

pub fn info(state: &mut State, req: &ApiRequest, now: Instant) -> ApiReply {
    let limit = Some((LimitClass::Tier4, "users.info"));
    let caller = match authenticate(state, req, Some("users:read"), READ, limit, now) {
        Ok(caller) => caller,
        Err(reply) => return *reply,
    };
    // users.info reads form or query arguments only; a JSON body leaves `user` unset.
    let reply = match req
        .form_arg("user")
        .and_then(|id| state.user(&caller.info.team_id, id))
    {
        Some(user) => {
            let with_email = caller.info.has_any_scope(READ_EMAIL);
            ApiReply::ok(json!({ "user": user_object(user, with_email) }))
        }
        None => ApiReply::err("user_not_found"),
    };
    caller.reply(reply, READ)
}

pub fn lookup_by_email(state: &mut State, req: &ApiRequest, now: Instant) -> ApiReply {
    let limit = Some((LimitClass::Tier3, "users.lookupByEmail"));
    let caller = match authenticate(state, req, Some("users:read.email"), READ_EMAIL, limit, now) {
        Ok(caller) => caller,
        Err(reply) => return *reply,
    };
    // Slack reads this method's arguments from the query string or a form body only; an email
    // sent as JSON is not seen, so the call fails as if it were missing.
    let Some(email) = req.form_arg("email").map(str::trim).filter(|e| !e.is_empty()) else {
        return caller.reply(missing_argument("email"), READ_EMAIL);
    };
    let found = state.workspace(&caller.info.team_id).and_then(|ws| {
        ws.users
            .iter()
            .find(|u| u.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email)))
    });
    let reply = match found {
        Some(user) => ApiReply::ok(json!({ "user": user_object(user, true) })),
        None => ApiReply::err("users_not_found"),
    };
    caller.reply(reply, READ_EMAIL)
}

/// Slack's user object (the fields integrations read, plus a few for realism).
pub fn user_object(user: &User, with_email: bool) -> Value {
    let real_name = user.real_name.clone().unwrap_or_else(|| user.name.clone());
    let mut profile = json!({
        "real_name": real_name,
        "real_name_normalized": real_name,
        "display_name": user.name,
        "display_name_normalized": user.name,
        "team": user.team_id,
    });
    if with_email && let (Some(email), Value::Object(p)) = (&user.email, &mut profile) {
        p.insert("email".into(), Value::String(email.clone()));
    }
    json!({
        "id": user.id,
        "team_id": user.team_id,
        "name": user.name,
        "deleted": user.deleted,
        "real_name": real_name,
        "tz": "Asia/Tokyo",
        "tz_label": "Japan Standard Time",
        "tz_offset": 32400,
        "is_admin": false,
        "is_owner": false,
        "is_bot": user.is_bot,
        "is_app_user": false,
        "updated": 1_700_000_000,
        "profile": profile,
    })
}
