//! Slack's OAuth v2 authorize screen at `/oauth/v2/authorize` (not under `/api`).
//!
//! The emulator has no login, so the page lets the person pick who they are ("Signed in as")
//! and which workspace to install into (drop-down at the top right, preselected from `team`).
//! It works without JavaScript: one form posting to `/oauth/v2/authorize/decide`, so a
//! WebDriver test can select options and click Allow or Cancel.

mod page;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Form, Query, State as AxumState};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

use crate::state::{AuthCode, OAuthApp, Shared, State, random_hex};

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/oauth/v2/authorize", get(authorize))
        .route("/oauth/v2/authorize/decide", post(decide))
        .route("/_emulator/oauth/consent", post(consent_from_terminal))
}

/// PKCE S256: base64url (no padding) of the SHA-256 of the verifier.
pub fn pkce_s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The authorize request's query, as Slack documents it.
#[derive(Debug, Default, Deserialize)]
pub struct AuthorizeQuery {
    pub client_id: Option<String>,
    pub scope: Option<String>,
    pub user_scope: Option<String>,
    pub redirect_uri: Option<String>,
    pub state: Option<String>,
    pub team: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// The consent form, echoing the validated request in hidden fields.
#[derive(Debug, Deserialize)]
pub struct DecideForm {
    client_id: String,
    /// The redirect URI to send the browser to (the named one, or the app's first).
    redirect_uri: String,
    /// Whether `redirect_uri` was named in the authorize request (the exchange must repeat it).
    #[serde(default)]
    redirect_uri_given: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    user_scope: String,
    #[serde(default)]
    code_challenge: String,
    team: String,
    #[serde(default)]
    user: String,
    decision: String,
}

/// A validated authorize request.
struct Checked {
    app: OAuthApp,
    redirect_uri: String,
    redirect_uri_given: bool,
    code_challenge: Option<String>,
}

/// Validates what both the page and the decision depend on. Errors are shown as a page, never
/// redirected: Slack does not send the browser to an unverified redirect URI.
fn check(
    state: &State,
    client_id: Option<&str>,
    redirect_uri: Option<&str>,
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<Checked, (&'static str, &'static str)> {
    let app = client_id.and_then(|id| state.app(id)).cloned().ok_or((
        "invalid_client_id",
        "Unknown client_id: this app is not registered.",
    ))?;
    let given = redirect_uri.filter(|u| !u.is_empty());
    let redirect_uri = match given {
        Some(uri) if app.redirect_uris.iter().any(|u| u == uri) => uri.to_owned(),
        Some(_) => {
            return Err((
                "bad_redirect_uri",
                "redirect_uri did not match any configured URIs of this app.",
            ));
        }
        None => app
            .redirect_uris
            .first()
            .cloned()
            .ok_or(("bad_redirect_uri", "This app has no redirect URI configured."))?,
    };
    let code_challenge = challenge.filter(|c| !c.is_empty()).map(str::to_owned);
    if code_challenge.is_some() && method.unwrap_or("S256") != "S256" {
        return Err((
            "invalid_code_challenge_method",
            "Only the S256 code_challenge_method is supported.",
        ));
    }
    Ok(Checked {
        app,
        redirect_uri,
        redirect_uri_given: given.is_some(),
        code_challenge,
    })
}

/// A Slack OAuth error: its code and the sentence the error page shows.
type OAuthRefusal = (&'static str, &'static str);

/// An authorize request that passed the checks, with its bot and user scopes.
struct CheckedRequest {
    checked: Checked,
    scopes: Vec<String>,
    user_scopes: Vec<String>,
}

/// The checks of an authorize request as the page receives it.
fn check_request(state: &State, q: &AuthorizeQuery) -> Result<CheckedRequest, OAuthRefusal> {
    let checked = check(
        state,
        q.client_id.as_deref(),
        q.redirect_uri.as_deref(),
        q.code_challenge.as_deref(),
        q.code_challenge_method.as_deref(),
    )?;
    let scopes = split_scopes(q.scope.as_deref());
    let user_scopes = split_scopes(q.user_scope.as_deref());
    if scopes.is_empty() && user_scopes.is_empty() {
        return Err(("invalid_scope", "No scope or user_scope was requested."));
    }
    Ok(CheckedRequest {
        checked,
        scopes,
        user_scopes,
    })
}

async fn authorize(AxumState(shared): AxumState<Arc<Shared>>, Query(q): Query<AuthorizeQuery>) -> Response {
    let state = shared.lock();
    let CheckedRequest {
        checked,
        scopes,
        user_scopes,
    } = match check_request(&state, &q) {
        Ok(c) => c,
        Err((code, message)) => return error_page(code, message),
    };
    let html = page::consent(&page::Consent {
        workspaces: &state.workspaces,
        app_id: &checked.app.app_id,
        client_id: &checked.app.client_id,
        redirect_uri: &checked.redirect_uri,
        redirect_uri_given: checked.redirect_uri_given,
        state: q.state.as_deref().unwrap_or(""),
        scopes: &scopes,
        user_scopes: &user_scopes,
        team: q.team.as_deref(),
        code_challenge: checked.code_challenge.as_deref().unwrap_or(""),
    });
    Html(html).into_response()
}

async fn decide(AxumState(shared): AxumState<Arc<Shared>>, Form(form): Form<DecideForm>) -> Response {
    decide_in(&mut shared.lock(), form)
}

/// The consent page answered without a browser (a terminal walk-through): the authorize URL the
/// product handed out, who is signed in, and the button.
#[derive(Debug, Deserialize)]
struct TerminalConsent {
    authorize_url: String,
    user: String,
    /// The workspace picked at the top right; the one the URL preselects when absent.
    #[serde(default)]
    team: Option<String>,
    /// `allow` (the default) or `cancel`.
    #[serde(default)]
    decision: Option<String>,
}

/// Validates the authorize URL exactly as the page does, then decides as the page's form would.
async fn consent_from_terminal(
    AxumState(shared): AxumState<Arc<Shared>>,
    Form(form): Form<TerminalConsent>,
) -> Response {
    let Some(q) = Url::parse(&form.authorize_url)
        .ok()
        .and_then(|u| serde_urlencoded::from_str::<AuthorizeQuery>(u.query().unwrap_or("")).ok())
    else {
        return error_page("invalid_authorize_url", "authorize_url is not an authorize URL.");
    };
    let mut state = shared.lock();
    let checked = match check_request(&state, &q) {
        Ok(request) => request.checked,
        Err((code, message)) => return error_page(code, message),
    };
    let decide = DecideForm {
        client_id: checked.app.client_id,
        redirect_uri: checked.redirect_uri,
        redirect_uri_given: if checked.redirect_uri_given { "1" } else { "" }.to_owned(),
        state: q.state.unwrap_or_default(),
        scope: q.scope.unwrap_or_default(),
        user_scope: q.user_scope.unwrap_or_default(),
        code_challenge: checked.code_challenge.unwrap_or_default(),
        team: form.team.or(q.team).unwrap_or_default(),
        user: form.user,
        decision: form.decision.unwrap_or_else(|| "allow".to_owned()),
    };
    decide_in(&mut state, decide)
}

fn decide_in(state: &mut State, form: DecideForm) -> Response {
    let checked = match check(
        state,
        Some(&form.client_id),
        Some(&form.redirect_uri),
        Some(&form.code_challenge),
        None,
    ) {
        Ok(c) => c,
        Err((code, message)) => return error_page(code, message),
    };
    let pass_state = Some(form.state.as_str()).filter(|s| !s.is_empty());
    if form.decision != "allow" {
        return redirect(&checked.redirect_uri, &[("error", "access_denied")], pass_state);
    }
    let Some(ws) = state.workspace(&form.team) else {
        return error_page("team_not_found", "Pick a workspace from the list.");
    };
    let member = ws
        .users
        .iter()
        .find(|u| u.id == form.user && !u.deleted && !u.is_bot);
    if member.is_none() {
        let msg = format!(
            "The chosen account is not a member of {}. Pick yourself among its members.",
            ws.name
        );
        return error_page("user_not_in_team", &msg);
    }
    let code = random_hex(20);
    let now = Instant::now();
    let expires_at = now + state.code_ttl;
    state.purge_codes(now);
    state.codes.insert(
        code.clone(),
        AuthCode {
            client_id: checked.app.client_id.clone(),
            redirect_uri: (form.redirect_uri_given == "1").then(|| checked.redirect_uri.clone()),
            team_id: form.team.clone(),
            user_id: form.user.clone(),
            user_scopes: split_scopes(Some(&form.user_scope)),
            bot_scopes: split_scopes(Some(&form.scope)),
            code_challenge: checked.code_challenge,
            expires_at,
            used: false,
        },
    );
    redirect(&checked.redirect_uri, &[("code", &code)], pass_state)
}

fn split_scopes(raw: Option<&str>) -> Vec<String> {
    raw.unwrap_or("")
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn redirect(uri: &str, pairs: &[(&str, &str)], state: Option<&str>) -> Response {
    let Ok(mut url) = Url::parse(uri) else {
        return error_page(
            "bad_redirect_uri",
            "The configured redirect URI is not a valid URL.",
        );
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
        if let Some(s) = state {
            query.append_pair("state", s);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

fn error_page(code: &str, message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Html(page::error(code, message))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc7636_example() {
        // RFC 7636 appendix B.
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn scopes_split_on_commas_and_spaces() {
        assert_eq!(
            split_scopes(Some("chat:write, im:write im:read")),
            ["chat:write", "im:write", "im:read"]
        );
        assert!(split_scopes(None).is_empty());
    }
}
