//! The emulator's starting world: workspaces, their users and bot tokens, and OAuth apps.
//! Loadable from JSON (`slack-emulator --seed FILE`); `Seed::demo()` is the default.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::limits::RateLimitConfig;

/// The demo app's signing secret (`ovice-slack demo` and the tests configure ovice-slack with it).
pub const DEMO_SIGNING_SECRET: &str = "emulator-signing-secret";

/// Everything the emulator knows at start.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Seed {
    #[serde(default)]
    pub workspaces: Vec<WorkspaceSeed>,
    #[serde(default)]
    pub oauth_apps: Vec<OAuthAppSeed>,
    /// Off unless the seed (or the handle, or `--rate-limit-scale`) turns it on.
    #[serde(default)]
    pub rate_limits: RateLimitConfig,
}

/// One Slack workspace ("team").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WorkspaceSeed {
    pub team_id: String,
    pub name: String,
    /// The `acme` of `https://acme.slack.com/`.
    pub domain: String,
    #[serde(default)]
    pub users: Vec<UserSeed>,
    #[serde(default)]
    pub bot_tokens: Vec<BotTokenSeed>,
}

/// A member of a workspace.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserSeed {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub real_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub is_bot: bool,
}

/// A bot token (`xoxb-…`) of an app installed in the workspace.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BotTokenSeed {
    pub token: String,
    pub scopes: Vec<String>,
    /// The bot's user id; added to the workspace as a bot user if not listed in `users`.
    pub bot_user_id: String,
    /// Defaults to `B` + the bot user id without its leading `U`.
    #[serde(default)]
    pub bot_id: Option<String>,
    #[serde(default)]
    pub app_id: Option<String>,
    /// The bot user's name (auth.test `user`); defaults to `bot`.
    #[serde(default)]
    pub bot_name: Option<String>,
}

/// A distributed Slack app whose OAuth flow the emulator serves.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OAuthAppSeed {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub app_id: Option<String>,
    /// Signs the app's event requests; a random one when not given.
    #[serde(default)]
    pub signing_secret: Option<String>,
    /// Where the app's events go; none are sent without it.
    #[serde(default)]
    pub event_url: Option<String>,
    /// Token rotation is on: installs get expiring `xoxe.` tokens and refresh tokens.
    #[serde(default)]
    pub token_rotation: bool,
}

impl Seed {
    /// Reads a seed from a JSON file.
    pub fn from_json_file(path: &Path) -> anyhow::Result<Seed> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read seed file {}: {e}", path.display()))?;
        Self::from_json(&text).map_err(|e| anyhow::anyhow!("invalid seed file {}: {e}", path.display()))
    }

    pub fn from_json(text: &str) -> Result<Seed, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Two workspaces (Acme, Globex) and the ovice OAuth app; rate limits off.
    pub fn demo() -> Seed {
        let all_bot_scopes = || strings(&["users:read", "users:read.email", "chat:write"]);
        Seed {
            workspaces: vec![
                WorkspaceSeed {
                    team_id: "T0ACME".into(),
                    name: "Acme".into(),
                    domain: "acme".into(),
                    users: vec![
                        user("U0ALICE", "alice", "Alice Anderson", "alice@acme.test"),
                        user("U0BOB", "bob", "Bob Brown", "bob@acme.test"),
                        user("U0CAROL", "carol", "Carol Clark", "carol@acme.test"),
                        UserSeed {
                            deleted: true,
                            ..user("U0DAVE", "dave", "Dave Davis", "dave@acme.test")
                        },
                    ],
                    bot_tokens: vec![
                        BotTokenSeed {
                            token: "xoxb-acme-good".into(),
                            scopes: all_bot_scopes(),
                            bot_user_id: "U0ACMEBOT".into(),
                            bot_id: Some("B0ACMEBOT".into()),
                            app_id: Some("A0OVICE".into()),
                            bot_name: Some("ovice".into()),
                        },
                        BotTokenSeed {
                            token: "xoxb-acme-noemail".into(),
                            scopes: strings(&["users:read", "chat:write"]),
                            bot_user_id: "U0ACMEBOT2".into(),
                            bot_id: Some("B0ACMEBOT2".into()),
                            app_id: Some("A0NOEMAIL".into()),
                            bot_name: Some("ovice-noemail".into()),
                        },
                    ],
                },
                WorkspaceSeed {
                    team_id: "T0GLOBEX".into(),
                    name: "Globex".into(),
                    domain: "globex".into(),
                    users: vec![
                        // Same email as Acme's Alice, different id: Slack ids are per workspace.
                        user("U0GALICE", "alice", "Alice Anderson", "alice@acme.test"),
                        user("U0GZED", "zed", "Zed Zimmer", "zed@globex.test"),
                    ],
                    bot_tokens: vec![BotTokenSeed {
                        token: "xoxb-globex-good".into(),
                        scopes: all_bot_scopes(),
                        bot_user_id: "U0GLOBEXBOT".into(),
                        bot_id: Some("B0GLOBEXBOT".into()),
                        app_id: Some("A0OVICE".into()),
                        bot_name: Some("ovice".into()),
                    }],
                },
            ],
            oauth_apps: vec![OAuthAppSeed {
                client_id: "111.222".into(),
                client_secret: "emulator-secret".into(),
                redirect_uris: vec!["http://127.0.0.1:8090/oauth/slack/callback".into()],
                app_id: Some("A0OVICE".into()),
                signing_secret: Some(DEMO_SIGNING_SECRET.into()),
                event_url: None,
                token_rotation: false,
            }],
            rate_limits: RateLimitConfig::default(),
        }
    }
}

fn user(id: &str, name: &str, real_name: &str, email: &str) -> UserSeed {
    UserSeed {
        id: id.into(),
        name: name.into(),
        real_name: Some(real_name.into()),
        email: Some(email.into()),
        deleted: false,
        is_bot: false,
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_seed_round_trips_through_json() {
        let demo = Seed::demo();
        let json = serde_json::to_string_pretty(&demo).unwrap();
        assert_eq!(Seed::from_json(&json).unwrap(), demo);
    }

    #[test]
    fn minimal_json_seed_uses_defaults() {
        let seed = Seed::from_json(
            r#"{"workspaces":[{"team_id":"T1","name":"One","domain":"one",
                "users":[{"id":"U1","name":"u1"}],
                "bot_tokens":[{"token":"xoxb-1","scopes":["chat:write"],"bot_user_id":"UB1"}]}]}"#,
        )
        .unwrap();
        assert!(seed.oauth_apps.is_empty());
        assert!(!seed.rate_limits.enabled);
        assert!(!seed.workspaces[0].users[0].deleted);
    }
}
