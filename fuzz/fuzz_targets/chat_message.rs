//! A published chat message from arbitrary bytes: protobuf decoding, then its one validation (where
//! it enters the outbox), then the Slack text of what passed. Validation answers with a valid message or INVALID_ARGUMENT,
//! and never panics.
#![no_main]

use delivery::domain::{Language, SlackText, check_inert};
use libfuzzer_sys::fuzz_target;
use ovice_slack_model::{ChatMessage, SpaceRole};
use ovice_slack_proto::v1 as pb;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = pb::ChatMessage::decode(data) else {
        return;
    };
    match ChatMessage::try_from(&raw) {
        Ok(m) => {
            for id in [
                m.org_id.as_str(),
                &m.space_id,
                &m.message_id,
                m.sender.user_id.as_str(),
            ] {
                assert!(
                    !id.is_empty() && id.len() <= 128 && id.trim() == id,
                    "{id:?}"
                );
            }
            assert!(m.mentions.len() <= 100 && m.text.len() <= 40_000);
            for language in [Language::English, Language::Japanese] {
                let rendered = SlackText {
                    sender_name: &m.sender.display_name,
                    sender_is_visitor: m.sender.role == SpaceRole::Visitor,
                    space_name: &m.space_name,
                    text: &m.text,
                    link: m.link_url.as_ref(),
                    language,
                }
                .render();
                if let Err(e) = check_inert(&rendered, m.link_url.as_ref()) {
                    panic!("{e}: {rendered:?}");
                }
            }
        }
        Err(violations) => {
            let status = violations.into_status();
            assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        }
    }
});
