//! The `ovice.slack.v1` API: messages, tonic clients and servers, and the file descriptor set that the
//! servers publish through gRPC reflection.

/// Generated code of package `ovice.slack.v1`.
pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("ovice.slack.v1");
}

/// The encoded `FileDescriptorSet` of every file under `proto/`, for `tonic-reflection`.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("ovice_slack_descriptor");

/// The fully qualified names of the four services, as health checks and reflection list them.
pub mod service_names {
    pub const INTEGRATION_CONFIG: &str = "ovice.slack.v1.IntegrationConfigService";
    pub const ACCOUNT_LINK: &str = "ovice.slack.v1.AccountLinkService";
    pub const CHAT_EVENT: &str = "ovice.slack.v1.ChatEventService";
    pub const DELIVERY: &str = "ovice.slack.v1.DeliveryService";
}
