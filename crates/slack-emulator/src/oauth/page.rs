//! HTML of the authorize screen. Plain HTML and CSS, no JavaScript; maud escapes every value.

use maud::{DOCTYPE, Markup, PreEscaped, html};

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
    let hidden = [
        ("client_id", c.client_id.to_owned()),
        ("redirect_uri", c.redirect_uri.to_owned()),
        (
            "redirect_uri_given",
            if c.redirect_uri_given { "1" } else { "" }.to_owned(),
        ),
        ("state", c.state.to_owned()),
        ("scope", c.scopes.join(",")),
        ("user_scope", c.user_scopes.join(",")),
        ("code_challenge", c.code_challenge.to_owned()),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Slack emulator: authorize " (c.app_id) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                form method="post" action="/oauth/v2/authorize/decide" {
                    header {
                        strong { "slack (emulator)" }
                        div.team-picker {
                            label for="team" { "Workspace" }
                            select #team name="team" {
                                @for ws in c.workspaces {
                                    option value=(ws.team_id) selected[c.team == Some(ws.team_id.as_str())] {
                                        (ws.name) " (" (ws.domain) ".slack.com)"
                                    }
                                }
                            }
                        }
                    }
                    main {
                        h1 { (c.app_id) " is requesting permission to access the selected Slack workspace" }
                        p {
                            label for="user" { "Signed in as" } " "
                            select #user name="user" {
                                @for ws in c.workspaces {
                                    optgroup label=(ws.name) {
                                        @for u in ws.users.iter().filter(|u| !u.deleted && !u.is_bot) {
                                            option value=(u.id) {
                                                (u.real_name.as_deref().unwrap_or(&u.name)) " (" (u.name) ", "
                                                (u.email.as_deref().unwrap_or("no email")) ")"
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        (scope_list("user-scopes", "What it will be able to do as you", c.user_scopes))
                        (scope_list("bot-scopes", "What its bot will be able to do", c.scopes))
                        @for (name, value) in &hidden {
                            input type="hidden" name=(name) value=(value);
                        }
                        div.buttons {
                            button #cancel type="submit" name="decision" value="cancel" { "Cancel" }
                            button #allow type="submit" name="decision" value="allow" { "Allow" }
                        }
                    }
                }
            }
        }
    }
    .into_string()
}

fn scope_list(id: &str, title: &str, scopes: &[String]) -> Markup {
    html! {
        @if !scopes.is_empty() {
            h2 { (title) }
            ul id=(id) { @for s in scopes { li { (s) } } }
        }
    }
}

pub fn error(code: &str, message: &str) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Slack emulator: " (code) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header { strong { "slack (emulator)" } }
                main {
                    h1 { "Something went wrong" }
                    p #error data-error=(code) { (code) }
                    p { (message) }
                }
            }
        }
    }
    .into_string()
}
