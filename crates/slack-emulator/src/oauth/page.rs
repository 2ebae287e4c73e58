//! HTML of the authorize screen. Plain HTML and CSS, no JavaScript.

use std::fmt::Write;

use crate::state::Workspace;

pub struct Consent<'a> {
    pub workspaces: &'a [Workspace],
    pub app_id: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub redirect_uri_given: bool,
    pub state: &'a str,
    pub scopes: &'a [String],
    pub user_scopes: &'a [String],
    pub team: Option<&'a str>,
    pub code_challenge: &'a str,
}

const STYLE: &str = "body{font-family:Lato,Helvetica,Arial,sans-serif;margin:0;color:#1d1c1d}\
header{display:flex;align-items:center;justify-content:space-between;padding:12px 24px;\
background:#4a154b;color:#fff}header label{margin-right:8px}\
main{max-width:640px;margin:32px auto;padding:0 16px}\
.buttons{margin-top:32px;display:flex;gap:12px;justify-content:flex-end}\
button{font-size:15px;padding:8px 20px;border-radius:4px;border:1px solid #868686;background:#fff}\
#allow{background:#007a5a;color:#fff;border-color:#007a5a}";

pub fn consent(c: &Consent<'_>) -> String {
    let mut html = String::with_capacity(4096);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Slack emulator: authorize {app}</title><style>{STYLE}</style></head><body>\
         <form method=\"post\" action=\"/oauth/v2/authorize/decide\">\
         <header><strong>slack (emulator)</strong><div class=\"team-picker\">\
         <label for=\"team\">Workspace</label><select id=\"team\" name=\"team\">",
        app = esc(c.app_id),
    );
    for ws in c.workspaces {
        let selected = if c.team == Some(ws.team_id.as_str()) {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            html,
            "<option value=\"{}\"{selected}>{} ({}.slack.com)</option>",
            esc(&ws.team_id),
            esc(&ws.name),
            esc(&ws.domain)
        );
    }
    let _ = write!(
        html,
        "</select></div></header><main>\
         <h1>{app} is requesting permission to access the selected Slack workspace</h1>\
         <p><label for=\"user\">Signed in as</label> <select id=\"user\" name=\"user\">",
        app = esc(c.app_id)
    );
    for ws in c.workspaces {
        let _ = write!(html, "<optgroup label=\"{}\">", esc(&ws.name));
        for u in ws.users.iter().filter(|u| !u.deleted && !u.is_bot) {
            let _ = write!(
                html,
                "<option value=\"{}\">{} ({}, {})</option>",
                esc(&u.id),
                esc(u.real_name.as_deref().unwrap_or(&u.name)),
                esc(&u.name),
                esc(u.email.as_deref().unwrap_or("no email"))
            );
        }
        html.push_str("</optgroup>");
    }
    html.push_str("</select></p>");
    scope_list(
        &mut html,
        "user-scopes",
        "What it will be able to do as you",
        c.user_scopes,
    );
    scope_list(
        &mut html,
        "bot-scopes",
        "What its bot will be able to do",
        c.scopes,
    );
    for (name, value) in [
        ("client_id", c.client_id),
        ("redirect_uri", c.redirect_uri),
        ("redirect_uri_given", if c.redirect_uri_given { "1" } else { "" }),
        ("state", c.state),
        ("scope", &c.scopes.join(",")),
        ("user_scope", &c.user_scopes.join(",")),
        ("code_challenge", c.code_challenge),
    ] {
        let _ = write!(
            html,
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            esc(value)
        );
    }
    html.push_str(
        "<div class=\"buttons\">\
         <button id=\"cancel\" type=\"submit\" name=\"decision\" value=\"cancel\">Cancel</button>\
         <button id=\"allow\" type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
         </div></main></form></body></html>",
    );
    html
}

fn scope_list(html: &mut String, id: &str, title: &str, scopes: &[String]) {
    if scopes.is_empty() {
        return;
    }
    let _ = write!(html, "<h2>{title}</h2><ul id=\"{id}\">");
    for s in scopes {
        let _ = write!(html, "<li>{}</li>", esc(s));
    }
    html.push_str("</ul>");
}

pub fn error(code: &str, message: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Slack emulator: {code}</title>\
         <style>{STYLE}</style></head><body><header><strong>slack (emulator)</strong></header><main>\
         <h1>Something went wrong</h1><p id=\"error\" data-error=\"{code}\">{code}</p><p>{message}</p>\
         </main></body></html>",
        code = esc(code),
        message = esc(message)
    )
}

/// Escapes text for HTML element content and double-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
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
