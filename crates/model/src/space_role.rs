//! The role a person has in an ovice space: one type for the JWT claim, the published message, the
//! outbox row and the Personal Integration Settings rule.

use ovice_slack_proto::v1 as pb;
use serde::{Deserialize, Serialize};

/// A person's role in a space. Its text form (`admin`, `member`, `visitor`) is what JWTs carry and
/// the outbox stores.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SpaceRole {
    Admin,
    Member,
    /// A visitor or guest: never posted as, always a bot DM, marked as a visitor in Slack, and
    /// without Personal Integration Settings.
    Visitor,
}

impl SpaceRole {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The proto enum without its UNSPECIFIED value.
impl TryFrom<pb::SpaceRole> for SpaceRole {
    type Error = ();

    fn try_from(role: pb::SpaceRole) -> Result<Self, ()> {
        match role {
            pb::SpaceRole::Admin => Ok(SpaceRole::Admin),
            pb::SpaceRole::Member => Ok(SpaceRole::Member),
            pb::SpaceRole::Visitor => Ok(SpaceRole::Visitor),
            pb::SpaceRole::Unspecified => Err(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    #[test]
    fn one_text_form_for_the_store_and_the_command_line() {
        for role in SpaceRole::value_variants() {
            assert_eq!(role.as_str().parse::<SpaceRole>(), Ok(*role));
            let clap_name = role.to_possible_value().map(|v| v.get_name().to_owned());
            assert_eq!(clap_name.as_deref(), Some(role.as_str()));
        }
        assert!("Admin".parse::<SpaceRole>().is_err());
    }
}
