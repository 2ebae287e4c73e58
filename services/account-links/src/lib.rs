//! AccountLinkService (SPEC 2.2). Account linking is built by the "Account linking" issue; until then
//! every method answers UNIMPLEMENTED and says so, rather than pretending.

use ovice_slack_proto::v1::{
    BeginSlackConnectRequest, BeginSlackConnectResponse, DisconnectSlackRequest, DisconnectSlackResponse,
    GetSlackConnectionRequest, ListSlackConnectionsRequest, ListSlackConnectionsResponse,
    ReportUserTokenInvalidRequest, ReportUserTokenInvalidResponse, ResolveSlackUsersRequest,
    ResolveSlackUsersResponse, SlackConnection,
    account_link_service_server::{AccountLinkService, AccountLinkServiceServer},
};
use ovice_slack_runtime::auth::AuthInterceptor;
use tonic::{Request, Response, Status, service::interceptor::InterceptedService};

pub type Server = InterceptedService<AccountLinkServiceServer<AccountLinksGrpc>, AuthInterceptor>;

pub fn server(auth: AuthInterceptor, max_request_bytes: usize) -> Server {
    InterceptedService::new(
        AccountLinkServiceServer::new(AccountLinksGrpc).max_decoding_message_size(max_request_bytes),
        auth,
    )
}

pub struct AccountLinksGrpc;

fn missing(method: &str) -> Status {
    Status::unimplemented(format!(
        "AccountLinkService.{method} is not available yet: Slack account linking (Connect / Disconnect) is \
         still being built"
    ))
}

#[tonic::async_trait]
impl AccountLinkService for AccountLinksGrpc {
    async fn get_slack_connection(
        &self,
        _: Request<GetSlackConnectionRequest>,
    ) -> Result<Response<SlackConnection>, Status> {
        Err(missing("GetSlackConnection"))
    }
    async fn begin_slack_connect(
        &self,
        _: Request<BeginSlackConnectRequest>,
    ) -> Result<Response<BeginSlackConnectResponse>, Status> {
        Err(missing("BeginSlackConnect"))
    }
    async fn disconnect_slack(
        &self,
        _: Request<DisconnectSlackRequest>,
    ) -> Result<Response<DisconnectSlackResponse>, Status> {
        Err(missing("DisconnectSlack"))
    }
    async fn list_slack_connections(
        &self,
        _: Request<ListSlackConnectionsRequest>,
    ) -> Result<Response<ListSlackConnectionsResponse>, Status> {
        Err(missing("ListSlackConnections"))
    }
    async fn resolve_slack_users(
        &self,
        _: Request<ResolveSlackUsersRequest>,
    ) -> Result<Response<ResolveSlackUsersResponse>, Status> {
        Err(missing("ResolveSlackUsers"))
    }
    async fn report_user_token_invalid(
        &self,
        _: Request<ReportUserTokenInvalidRequest>,
    ) -> Result<Response<ReportUserTokenInvalidResponse>, Status> {
        Err(missing("ReportUserTokenInvalid"))
    }
}
