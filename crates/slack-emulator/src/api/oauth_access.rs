//! `oauth.v2.access`: exchanges an authorization code for tokens.
//!
//! Client credentials come as HTTP Basic (Slack's preference) or as `client_id`/`client_secret`
//! arguments. A code is single-use: any exchange attempt by its own client spends it, so a wrong
//! PKCE verifier cannot be retried against it.

use std::time::Instant;

use serde_json::{Value, json};

use super::{ApiReply, ApiRequest};
use crate::oauth::pkce_s256;
use crate::seed::BotTokenSeed;
use crate::state::{AuthCode, State, TokenInfo, TokenOwner, TokenStatus, random_hex};

pub fn access(state: &mut State, req: &ApiRequest, now: Instant) -> ApiReply {
    let (client_id, client_secret) = match req.basic_auth() {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (req.arg("client_id"), req.arg("client_secret")),
    };
    let Some(app) = client_id.and_then(|id| state.app(id)).cloned() else {
        return ApiReply::err("invalid_client_id");
    };
    if client_secret != Some(app.client_secret.as_str()) {
        return ApiReply::err("bad_client_secret");
    }
    if let Some(grant) = req.arg("grant_type")
        && grant != "authorization_code"
    {
        return ApiReply::err("invalid_grant_type");
    }
    state.purge_codes(now);
    let Some(code) = req.arg("code").and_then(|c| state.codes.get_mut(c)) else {
        return ApiReply::err("invalid_code");
    };
    if code.client_id != app.client_id {
        return ApiReply::err("invalid_code");
    }
    if code.used {
        return ApiReply::err("code_already_used");
    }
    code.used = true;
    if now >= code.expires_at {
        return ApiReply::err("invalid_code");
    }
    let code = code.clone();
    let redirect_ok = match (&code.redirect_uri, req.arg("redirect_uri")) {
        (Some(expected), given) => given == Some(expected.as_str()),
        (None, Some(given)) => app.redirect_uris.iter().any(|u| u == given),
        (None, None) => true,
    };
    if !redirect_ok {
        return ApiReply::err("bad_redirect_uri");
    }
    if let Some(challenge) = &code.code_challenge {
        // Slack documents no dedicated error for a PKCE mismatch; the code is simply not valid.
        let verified = req
            .arg("code_verifier")
            .is_some_and(|v| pkce_s256(v) == *challenge);
        if !verified {
            return ApiReply::err("invalid_code");
        }
    }
    let Some(team_name) = state.workspace(&code.team_id).map(|w| w.name.clone()) else {
        return ApiReply::err("invalid_code");
    };
    let mut reply = ApiReply::ok(json!({
        "app_id": app.app_id,
        "authed_user": authed_user(state, &code, &app.app_id),
        "team": {"id": code.team_id, "name": team_name},
        "enterprise": Value::Null,
        "is_enterprise_install": false,
    }));
    if !code.bot_scopes.is_empty() {
        reply = reply.with(issue_bot_token(state, &code, &app.app_id));
    }
    reply
}

/// `authed_user`, with a user token when user scopes were granted. Like Slack, a user who already
/// granted this app a token that still works gets that same token again (its scopes widened), so a
/// client that revokes "the old token" after a new consent revokes the one it just received; only
/// once it is revoked does a consent mint a new one.
fn authed_user(state: &mut State, code: &AuthCode, app_id: &str) -> Value {
    if code.user_scopes.is_empty() {
        return json!({"id": code.user_id});
    }
    let live = state.tokens.iter_mut().find(|(_, t)| {
        t.status == TokenStatus::Active
            && t.team_id == code.team_id
            && matches!(&t.owner, TokenOwner::User { user_id, app_id: a } if *user_id == code.user_id && a == app_id)
    });
    let (token, scopes) = match live {
        Some((token, info)) => {
            for scope in &code.user_scopes {
                if !info.scopes.contains(scope) {
                    info.scopes.push(scope.clone());
                }
            }
            (token.clone(), info.scopes.clone())
        }
        None => {
            let token = format!("xoxp-{}", random_hex(24));
            state.tokens.insert(
                token.clone(),
                TokenInfo {
                    team_id: code.team_id.clone(),
                    scopes: code.user_scopes.clone(),
                    owner: TokenOwner::User {
                        user_id: code.user_id.clone(),
                        app_id: app_id.to_owned(),
                    },
                    status: TokenStatus::Active,
                },
            );
            (token, code.user_scopes.clone())
        }
    };
    json!({
        "id": code.user_id,
        "scope": scopes.join(","),
        "access_token": token,
        "token_type": "user",
    })
}

/// The top-level bot fields of an install that requested bot scopes.
fn issue_bot_token(state: &mut State, code: &AuthCode, app_id: &str) -> Value {
    let existing = state.tokens.values().find_map(|t| match &t.owner {
        TokenOwner::Bot {
            bot_id,
            bot_user_id,
            app_id: a,
        } if a == app_id && t.team_id == code.team_id => Some((bot_id.clone(), bot_user_id.clone())),
        _ => None,
    });
    let (bot_id, bot_user_id) = existing.unwrap_or_else(|| {
        let suffix = app_id.strip_prefix('A').unwrap_or(app_id);
        (format!("B{suffix}BOT"), format!("U{suffix}BOT"))
    });
    let token = format!("xoxb-{}", random_hex(24));
    state.add_bot_token(
        &code.team_id,
        &BotTokenSeed {
            token: token.clone(),
            scopes: code.bot_scopes.clone(),
            bot_user_id: bot_user_id.clone(),
            bot_id: Some(bot_id),
            app_id: Some(app_id.to_owned()),
            bot_name: None,
        },
    );
    json!({
        "access_token": token,
        "token_type": "bot",
        "scope": code.bot_scopes.join(","),
        "bot_user_id": bot_user_id,
    })
}
