//! `GET /oauth/slack/callback`: where Slack sends the person's browser after the consent page. Every
//! outcome is a page that says what happened and what to do, with a fitting HTTP status.

use axum::{
    Router,
    extract::{Query, State},
    http::StatusCode,
    routing::get,
};

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
    query: Result<Query<CallbackQuery>, axum::extract::rejection::QueryRejection>,
) -> Page {
    let query = match query {
        Ok(Query(q)) => q,
        Err(_) => return page_for(CallbackOutcome::Refused(ConnectRefusal::MissingState)),
    };
    page_for(app.complete_connect(query).await)
}

const START_AGAIN: &str = "Close this window and click \"Connect\" in Personal Integration Settings again.";

fn page_for(outcome: CallbackOutcome) -> Page {
    let page = |status, outcome, title: &str, message: String, hint: &str| Page {
        status,
        outcome,
        title: title.to_owned(),
        message,
        hint: hint.to_owned(),
    };
    match outcome {
        CallbackOutcome::Connected {
            slack_user_name,
            domain,
            ovice_account,
        } => page(
            StatusCode::OK,
            "connected",
            "Slack connected",
            format!(
                "Connected as @{slack_user_name} in {domain}.slack.com to your ovice account {ovice_account} — you can close this window."
            ),
            "Direct messages you receive in ovice will now also appear in your Slack direct messages, in every space of your organization.",
        ),
        CallbackOutcome::SlackUnavailable => page(
            StatusCode::SERVICE_UNAVAILABLE,
            "slack_unavailable",
            "Slack is not reachable",
            "Slack could not be reached to finish connecting your account. Nothing was changed.".into(),
            "Wait a moment, then close this window and click \"Connect\" again.",
        ),
        CallbackOutcome::Failed => page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "failed",
            "Something went wrong",
            "Your Slack account could not be connected because of a problem on our side. Nothing was changed.".into(),
            "Try again in a few minutes; if it keeps happening, tell your ovice administrator.",
        ),
        CallbackOutcome::Refused(refusal) => match refusal {
            ConnectRefusal::MissingState => page(
                StatusCode::BAD_REQUEST,
                "missing_state",
                "This link is incomplete",
                "The address Slack sent you back to is missing its sign-in information.".into(),
                START_AGAIN,
            ),
            ConnectRefusal::UnknownState => page(
                StatusCode::BAD_REQUEST,
                "unknown_state",
                "This link is not valid",
                "This sign-in link was not issued by ovice for your account.".into(),
                START_AGAIN,
            ),
            ConnectRefusal::StateUsed => page(
                StatusCode::CONFLICT,
                "state_used",
                "This link was already used",
                "Each Connect link works once, and this one has been used already.".into(),
                START_AGAIN,
            ),
            ConnectRefusal::StateExpired => page(
                StatusCode::GONE,
                "state_expired",
                "This link has expired",
                "Connect links work for 10 minutes, and this one is older.".into(),
                START_AGAIN,
            ),
            ConnectRefusal::Cancelled => page(
                StatusCode::OK,
                "cancelled",
                "Connecting Slack was cancelled",
                "You cancelled on Slack's page, so your Slack account was not connected. Nothing was changed.".into(),
                "You can close this window. To connect later, click \"Connect\" in Personal Integration Settings.",
            ),
            ConnectRefusal::SlackDenied(code) => page(
                StatusCode::BAD_REQUEST,
                "slack_error",
                "Slack did not complete the connection",
                format!("Slack answered \"{code}\", so your account was not connected."),
                START_AGAIN,
            ),
            ConnectRefusal::WrongWorkspace { chosen, expected_domain } => page(
                StatusCode::FORBIDDEN,
                "wrong_workspace",
                "Wrong Slack workspace",
                format!(
                    "You chose the workspace \"{chosen}\", but your organization uses {expected_domain}.slack.com."
                ),
                "Click \"Connect\" again and pick that workspace in the drop-down at the top right of Slack's page.",
            ),
            ConnectRefusal::NoSlackAccount { email, domain } => page(
                StatusCode::NOT_FOUND,
                "no_slack_account",
                "No matching Slack account",
                format!("No Slack account with the email {email} exists in {domain}.slack.com."),
                "Ask your Slack administrator to invite that address, or use the same email in ovice and Slack, then connect again.",
            ),
            ConnectRefusal::EmailOfAnotherUser { email, domain } => page(
                StatusCode::FORBIDDEN,
                "email_mismatch",
                "A different Slack account clicked Allow",
                format!(
                    "In {domain}.slack.com the email {email} belongs to another Slack account than the one that clicked Allow."
                ),
                "Sign in to Slack as the account with that email, then click \"Connect\" again.",
            ),
            ConnectRefusal::SlackAccountTaken { slack_user_name, domain } => page(
                StatusCode::CONFLICT,
                "slack_account_taken",
                "This Slack account is already connected",
                format!(
                    "@{slack_user_name} in {domain}.slack.com is already connected to another ovice account of your organization, so it was not connected to this one."
                ),
                "If that Slack account is yours, disconnect it from the other ovice account first, or ask your ovice administrator.",
            ),
            ConnectRefusal::WorkspaceGone => page(
                StatusCode::CONFLICT,
                "workspace_gone",
                "Slack is no longer set up",
                "Your organization's Slack settings were removed while you were connecting.".into(),
                "Ask an organization owner to set up Slack again.",
            ),
        },
    }
}
