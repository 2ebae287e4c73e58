//! `GET /oauth/slack/callback`: where Slack sends the person's browser after the consent page. Every
//! outcome is a page that says what happened and what to do, with a fitting HTTP status.

use axum::{
    Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    routing::get,
};
use ovice_slack_i18n::{Arg, Language, Text};

use crate::{
    app::{AccountLinks, CallbackOutcome, CallbackQuery},
    domain::ConnectRefusal,
    pages::Page,
};

pub const CALLBACK_PATH: &str = "/oauth/slack/callback";

pub fn routes(app: AccountLinks) -> Router {
    Router::new().route(CALLBACK_PATH, get(callback)).with_state(app)
}

async fn callback(
    State(app): State<AccountLinks>,
    headers: HeaderMap,
    query: Result<Query<CallbackQuery>, axum::extract::rejection::QueryRejection>,
) -> Page {
    // The page speaks the language of the person's ovice when they began (the `locale` claim),
    // else what their browser asks for, else English.
    let browser = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Language::from_accept_language);
    let query = match query {
        Ok(Query(q)) => q,
        Err(_) => {
            let outcome = CallbackOutcome::Refused(ConnectRefusal::MissingState);
            return page_for(outcome, browser.unwrap_or_default());
        }
    };
    let language = app
        .language_of_connect(&query)
        .await
        .or(browser)
        .unwrap_or_default();
    page_for(app.complete_connect(query).await, language)
}

fn page_for(outcome: CallbackOutcome, language: Language) -> Page {
    let page = |status, outcome, text: Text, args: &[(&str, Arg<'_>)]| Page {
        status,
        outcome,
        language,
        title: text.render(language, args),
        message: text.attribute(language, "message", args),
        hint: text.attribute(language, "hint", args),
    };
    match outcome {
        CallbackOutcome::Connected {
            slack_user_name,
            domain,
            ovice_account,
        } => page(
            StatusCode::OK,
            "connected",
            Text::ConnectConnected,
            &[
                ("slack_user", Arg::Str(&slack_user_name)),
                ("domain", Arg::Str(&domain)),
                ("ovice_account", Arg::Str(&ovice_account)),
            ],
        ),
        CallbackOutcome::SlackUnavailable => page(
            StatusCode::SERVICE_UNAVAILABLE,
            "slack_unavailable",
            Text::ConnectSlackUnavailable,
            &[],
        ),
        CallbackOutcome::Failed => page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "failed",
            Text::ConnectFailed,
            &[],
        ),
        CallbackOutcome::Refused(refusal) => match refusal {
            ConnectRefusal::MissingState => page(
                StatusCode::BAD_REQUEST,
                "missing_state",
                Text::ConnectMissingState,
                &[],
            ),
            ConnectRefusal::UnknownState => page(
                StatusCode::BAD_REQUEST,
                "unknown_state",
                Text::ConnectUnknownState,
                &[],
            ),
            ConnectRefusal::StateUsed => {
                page(StatusCode::CONFLICT, "state_used", Text::ConnectStateUsed, &[])
            }
            ConnectRefusal::StateExpired => {
                page(StatusCode::GONE, "state_expired", Text::ConnectStateExpired, &[])
            }
            ConnectRefusal::Cancelled => page(StatusCode::OK, "cancelled", Text::ConnectCancelled, &[]),
            ConnectRefusal::SlackDenied(code) => page(
                StatusCode::BAD_REQUEST,
                "slack_error",
                Text::ConnectSlackError,
                &[("code", Arg::Str(&code))],
            ),
            ConnectRefusal::WrongWorkspace {
                chosen,
                expected_domain,
            } => page(
                StatusCode::FORBIDDEN,
                "wrong_workspace",
                Text::ConnectWrongWorkspace,
                &[
                    ("chosen", Arg::Str(&chosen)),
                    ("domain", Arg::Str(&expected_domain)),
                ],
            ),
            ConnectRefusal::NoSlackAccount { email, domain } => page(
                StatusCode::NOT_FOUND,
                "no_slack_account",
                Text::ConnectNoSlackAccount,
                &[("email", Arg::Str(&email)), ("domain", Arg::Str(&domain))],
            ),
            ConnectRefusal::EmailOfAnotherUser { email, domain } => page(
                StatusCode::FORBIDDEN,
                "email_mismatch",
                Text::ConnectEmailMismatch,
                &[("email", Arg::Str(&email)), ("domain", Arg::Str(&domain))],
            ),
            ConnectRefusal::SlackAccountTaken {
                slack_user_name,
                domain,
            } => page(
                StatusCode::CONFLICT,
                "slack_account_taken",
                Text::ConnectSlackAccountTaken,
                &[
                    ("slack_user", Arg::Str(&slack_user_name)),
                    ("domain", Arg::Str(&domain)),
                ],
            ),
            ConnectRefusal::NoUserGrant => page(
                StatusCode::FORBIDDEN,
                "no_user_grant",
                Text::ConnectNoUserGrant,
                &[],
            ),
            ConnectRefusal::WorkspaceGone => page(
                StatusCode::CONFLICT,
                "workspace_gone",
                Text::ConnectWorkspaceGone,
                &[],
            ),
        },
    }
}
