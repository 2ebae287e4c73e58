//! `oauth.v2.access`: exchanges an authorization code for tokens.
//!
//! Client credentials come as HTTP Basic (Slack's preference) or as `client_id`/`client_secret`
//! arguments. A code is single-use: any exchange attempt by its own client spends it, so a wrong
//! PKCE verifier cannot be retried against it. With `grant_type=refresh_token` it renews an
//! expiring token of an app that rotates tokens (`crate::rotation`).

use std::time::Instant;

use serde_json::{Value, json};

use super::{ApiReply, ApiRequest};
use crate::oauth::pkce_s256;
use crate::rotation::InstalledBot;
use crate::seed::BotTokenSeed;
use crate::state::{AuthCode, OAuthApp, State, TokenInfo, TokenOwner, TokenStatus, random_hex};

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
    match req.arg("grant_type") {
        None | Some("authorization_code") => {}
        Some("refresh_token") => return refresh(state, req, &app, now),
        Some(_) => return ApiReply::err("invalid_grant_type"),
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
        "authed_user": authed_user(state, &code, &app, now),
        "team": {"id": code.team_id, "name": team_name},
        "enterprise": Value::Null,
        "is_enterprise_install": false,
    }));
    if !code.bot_scopes.is_empty() {
        reply = reply.with(issue_bot_token(state, &code.team_id, &code.bot_scopes, &app, now));
    }
    reply
}

/// Renews an expiring token: a flat answer for either kind, as Slack's SDKs read it.
fn refresh(state: &mut State, req: &ApiRequest, app: &OAuthApp, now: Instant) -> ApiReply {
    let Some(given) = req.arg("refresh_token") else {
        return ApiReply::err("invalid_refresh_token");
    };
    let (grant, minted) = match state.refresh(&app.client_id, given, now) {
        Ok(renewed) => renewed,
        Err(refused) => return ApiReply::err(refused.code()),
    };
    let team_name = state
        .workspace(&grant.team_id)
        .map(|w| w.name.clone())
        .unwrap_or_default();
    let mut body = json!({
        "app_id": app.app_id,
        "access_token": minted.access_token,
        "refresh_token": minted.refresh_token,
        "expires_in": minted.expires_in,
        "scope": grant.scopes.join(","),
        "team": {"id": grant.team_id, "name": team_name},
        "enterprise": Value::Null,
        "is_enterprise_install": false,
    });
    match &grant.owner {
        TokenOwner::Bot { bot_user_id, .. } => {
            body["token_type"] = json!("bot");
            body["bot_user_id"] = json!(bot_user_id);
        }
        TokenOwner::User { user_id, .. } => {
            body["token_type"] = json!("user");
            body["user_id"] = json!(user_id);
        }
    }
    ApiReply::ok(body)
}

/// `authed_user`, with a user token when user scopes were granted. Like Slack, a user who already
/// granted this app a token that still works gets that same token again (its scopes widened), so a
/// client that revokes "the old token" after a new consent revokes the one it just received; only
/// once it is revoked does a consent mint a new one.
fn authed_user(state: &mut State, code: &AuthCode, app: &OAuthApp, now: Instant) -> Value {
    if code.user_scopes.is_empty() {
        return json!({"id": code.user_id});
    }
    let app_id = app.app_id.as_str();
    if app.token_rotation {
        let owner = TokenOwner::User {
            user_id: code.user_id.clone(),
            app_id: app_id.to_owned(),
        };
        let minted = state.mint_rotating(
            &app.client_id,
            &code.team_id,
            owner,
            code.user_scopes.clone(),
            now,
        );
        return json!({
            "id": code.user_id,
            "scope": code.user_scopes.join(","),
            "access_token": minted.access_token,
            "token_type": "user",
            "refresh_token": minted.refresh_token,
            "expires_in": minted.expires_in,
        });
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
                    expires_at: None,
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

/// The top-level bot fields of an install that requested bot scopes (with a refresh token when the
/// app rotates tokens).
pub fn issue_bot_token(
    state: &mut State,
    team_id: &str,
    scopes: &[String],
    app: &OAuthApp,
    now: Instant,
) -> Value {
    let app_id = app.app_id.as_str();
    let existing = state.tokens.values().find_map(|t| match &t.owner {
        TokenOwner::Bot {
            bot_id,
            bot_user_id,
            app_id: a,
        } if a == app_id && t.team_id == team_id => Some((bot_id.clone(), bot_user_id.clone())),
        _ => None,
    });
    let (bot_id, bot_user_id) = existing.unwrap_or_else(|| {
        let suffix = app_id.strip_prefix('A').unwrap_or(app_id);
        (format!("B{suffix}BOT"), format!("U{suffix}BOT"))
    });
    let token = format!("xoxb-{}", random_hex(24));
    // Registers the bot user too; a rotating install then replaces the token with an expiring one.
    state.add_bot_token(
        team_id,
        &BotTokenSeed {
            token: token.clone(),
            scopes: scopes.to_vec(),
            bot_user_id: bot_user_id.clone(),
            bot_id: Some(bot_id.clone()),
            app_id: Some(app_id.to_owned()),
            bot_name: None,
        },
    );
    let mut body = json!({
        "access_token": token,
        "token_type": "bot",
        "scope": scopes.join(","),
        "bot_user_id": bot_user_id,
    });
    if app.token_rotation {
        state.tokens.remove(&token);
        let owner = TokenOwner::Bot {
            bot_id,
            bot_user_id,
            app_id: app_id.to_owned(),
        };
        let minted = state.mint_rotating(&app.client_id, team_id, owner, scopes.to_vec(), now);
        body["access_token"] = json!(minted.access_token);
        body["refresh_token"] = json!(minted.refresh_token);
        body["expires_in"] = json!(minted.expires_in);
    }
    body
}

/// An install of the app's bot into `team_id` without the authorize page (the emulator's control
/// API): the same token `oauth.v2.access` would hand out.
pub fn install_bot(
    state: &mut State,
    client_id: &str,
    team_id: &str,
    scopes: &[&str],
    now: Instant,
) -> Option<InstalledBot> {
    let app = state.app(client_id)?.clone();
    state.workspace(team_id)?;
    let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    let body = issue_bot_token(state, team_id, &scopes, &app, now);
    Some(InstalledBot {
        access_token: body["access_token"].as_str()?.to_owned(),
        bot_user_id: body["bot_user_id"].as_str()?.to_owned(),
        refresh_token: body["refresh_token"].as_str().map(str::to_owned),
        expires_in: body["expires_in"].as_u64(),
    })
}
