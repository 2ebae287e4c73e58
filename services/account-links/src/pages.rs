//! The small HTML pages the OAuth callback shows in the window Connect opened. Every dynamic piece is
//! HTML-escaped; no script, no external resource, no secret.

use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

/// One page: a status, a title, what happened, and what to do next.
pub struct Page {
    pub status: StatusCode,
    pub outcome: &'static str,
    pub title: String,
    pub message: String,
    pub hint: String,
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let html = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title} · ovice × Slack</title><style>\
             body{{font-family:system-ui,sans-serif;background:#f6f7f9;color:#1d1c1d;margin:0}}\
             main{{max-width:32rem;margin:4rem auto;background:#fff;border-radius:12px;padding:2rem;\
             box-shadow:0 1px 4px rgba(0,0,0,.1)}}h1{{font-size:1.3rem}}p{{line-height:1.5}}\
             .hint{{color:#616061}}</style></head>\
             <body><main data-outcome=\"{outcome}\"><h1 id=\"title\">{title}</h1>\
             <p id=\"message\">{message}</p><p id=\"hint\" class=\"hint\">{hint}</p></main></body></html>\n",
            title = escape(&self.title),
            outcome = self.outcome,
            message = escape(&self.message),
            hint = escape(&self.hint),
        );
        (
            self.status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                // The URL carried a single-use code: keep it out of caches and other sites' logs.
                (header::CACHE_CONTROL, "no-store"),
                (header::REFERRER_POLICY, "no-referrer"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'",
                ),
            ],
            html,
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_dynamic() {
        assert_eq!(
            escape("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }
}
