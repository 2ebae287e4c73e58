//! The small HTML pages the OAuth callback shows in the window Connect opened. The template (maud)
//! escapes every dynamic piece; no script, no external resource, no secret.

use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use maud::{DOCTYPE, PreEscaped, html};
use ovice_slack_i18n::Language;

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f6f7f9;color:#1d1c1d;margin:0}\
main{max-width:32rem;margin:4rem auto;background:#fff;border-radius:12px;padding:2rem;\
box-shadow:0 1px 4px rgba(0,0,0,.1)}h1{font-size:1.3rem}p{line-height:1.5}.hint{color:#616061}";

/// One page: a status, a title, what happened, and what to do next.
pub struct Page {
    pub status: StatusCode,
    pub outcome: &'static str,
    pub language: Language,
    pub title: String,
    pub message: String,
    pub hint: String,
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let html = html! {
            (DOCTYPE)
            html lang=(self.language.tag()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (self.title) " · ovice × Slack" }
                    style { (PreEscaped(STYLE)) }
                }
                body {
                    main data-outcome=(self.outcome) {
                        h1 #title { (self.title) }
                        p #message { (self.message) }
                        p #hint .hint { (self.hint) }
                    }
                }
            }
        }
        .into_string();
        (
            self.status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                // The URL carried a single-use code: keep it out of caches and other sites' logs.
                (header::CACHE_CONTROL, "no-store"),
                (header::REFERRER_POLICY, "no-referrer"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                // The page's language follows the person's ovice, then Accept-Language.
                (header::VARY, "Accept-Language"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    // No other site may frame the page (clickjacking the consent result).
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
                ),
            ],
            html,
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn escapes_everything_dynamic_and_cannot_be_framed() {
        let page = Page {
            status: StatusCode::OK,
            outcome: "connected",
            language: Language::Japanese,
            title: "<script>".into(),
            message: "\"a\" & 'b'".into(),
            hint: "</p><p>".into(),
        }
        .into_response();
        let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        let body = axum::body::to_bytes(page.into_body(), 1 << 16).await.unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(html.contains("<h1 id=\"title\">&lt;script&gt;</h1>"), "{html}");
        assert!(html.contains("&quot;a&quot; &amp; 'b'"), "{html}");
        assert!(html.contains("&lt;/p&gt;&lt;p&gt;"), "{html}");
        assert!(html.contains("<html lang=\"ja\">"), "{html}");
    }
}
