//! Slack's consent page driven over plain HTTP (the emulator's page works without JavaScript): what a
//! browser would post when a person picks a workspace and an account and clicks Allow or Cancel.

use reqwest::{StatusCode, redirect::Policy};
use url::Url;

pub struct Consent {
    http: reqwest::Client,
}

/// What the person does on Slack's page (Cancel is exercised in the browser test).
pub enum Decision<'a> {
    Allow { team: &'a str, user: &'a str },
}

impl Consent {
    pub fn new() -> Self {
        slack_client::install_crypto_provider();
        Self {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// Opens `authorize_url`, submits the decision, and returns where Slack redirects the browser.
    pub async fn decide(&self, authorize_url: &str, decision: Decision<'_>) -> Url {
        let page = self.http.get(authorize_url).send().await.unwrap();
        assert_eq!(
            page.status(),
            StatusCode::OK,
            "authorize page: {}",
            page.text().await.unwrap()
        );
        let url = Url::parse(authorize_url).unwrap();
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let Decision::Allow { team, user } = decision;
        let choice = "allow";
        let form = [
            ("client_id", param("client_id")),
            ("redirect_uri", param("redirect_uri")),
            ("redirect_uri_given", "1".to_owned()),
            ("state", param("state")),
            ("scope", param("scope")),
            ("user_scope", param("user_scope")),
            ("code_challenge", param("code_challenge")),
            ("team", team.to_owned()),
            ("user", user.to_owned()),
            ("decision", choice.to_owned()),
        ];
        let mut decide = url.clone();
        decide.set_path("/oauth/v2/authorize/decide");
        decide.set_query(None);
        let answer = self.http.post(decide).form(&form).send().await.unwrap();
        assert_eq!(
            answer.status(),
            StatusCode::FOUND,
            "decide: {}",
            answer.text().await.unwrap()
        );
        let location = answer.headers()["location"].to_str().unwrap();
        Url::parse(location).unwrap()
    }

    /// Follows Slack's redirect to the callback and returns the page's status, outcome and text.
    pub async fn open(&self, callback: &Url) -> CallbackPage {
        self.open_with(callback, None).await
    }

    /// As `open`, from a browser that sends `Accept-Language`.
    pub async fn open_with(&self, callback: &Url, accept_language: Option<&str>) -> CallbackPage {
        let mut request = self.http.get(callback.clone());
        if let Some(languages) = accept_language {
            request = request.header("accept-language", languages);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let html = response.text().await.unwrap();
        let outcome = between(&html, "data-outcome=\"", "\"").to_owned();
        let message = between(&html, "<p id=\"message\">", "</p>").to_owned();
        CallbackPage {
            status,
            outcome,
            message,
            html,
        }
    }
}

pub struct CallbackPage {
    pub status: StatusCode,
    pub outcome: String,
    pub message: String,
    pub html: String,
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let Some(i) = s.find(start) else { return "" };
    let rest = &s[i + start.len()..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// The same callback URL with one query parameter replaced (or added).
pub fn with_param(url: &Url, name: &str, value: &str) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut out = url.clone();
    out.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair(name, value);
    out
}
