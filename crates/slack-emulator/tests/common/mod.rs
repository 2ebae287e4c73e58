//! Shared helpers: an emulator with the demo seed and a raw reqwest client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use reqwest::header::HeaderMap;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use slack_emulator::{Emulator, EmulatorHandle, Seed};

pub struct Harness {
    pub slack: EmulatorHandle,
    pub http: Client,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn error(&self) -> Option<&str> {
        self.body["error"].as_str()
    }
}

pub async fn start() -> Harness {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let slack = Emulator::start(Seed::demo()).await.unwrap();
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Harness { slack, http }
}

impl Harness {
    pub fn url(&self, method: &str) -> reqwest::Url {
        self.slack.api_url().join(method).unwrap()
    }

    /// POST form arguments with a Bearer token.
    pub async fn call(&self, method: &str, token: Option<&str>, form: &[(&str, &str)]) -> Answer {
        let mut req = self.http.post(self.url(method)).form(form);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        answer(req.send().await.unwrap()).await
    }

    /// POST a JSON body with a Bearer token.
    pub async fn call_json(&self, method: &str, token: &str, body: Value) -> Answer {
        let req = self.http.post(self.url(method)).bearer_auth(token).json(&body);
        answer(req.send().await.unwrap()).await
    }
}

pub async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        headers,
        body,
    }
}
