//! B1: a bare tonic unary echo server in its own process (the same runtime, transport and HTTP/2
//! settings a `serve` process has, none of its work), and the client side of its load.

use std::{net::SocketAddr, path::Path, process::Command, sync::Arc};

use futures::FutureExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status, metadata::AsciiMetadataValue, transport::Channel};

use crate::{
    load::CallFn,
    process::{ServerProcess, free_port},
};

pub mod pb {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("bench.echo.v1");
}

use pb::{
    EchoRequest, EchoResponse,
    echo_service_client::EchoServiceClient,
    echo_service_server::{EchoService, EchoServiceServer},
};

struct Echo;

#[tonic::async_trait]
impl EchoService for Echo {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(EchoResponse {
            payload: request.into_inner().payload,
        }))
    }
}

/// The child's entry point (`ovice-slack-bench echo-server --listen ADDR`): echo plus gRPC health,
/// with the stream limit and TCP_NODELAY the service's server uses.
pub async fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .max_concurrent_streams(Some(256))
        .add_service(health_service)
        .add_service(EchoServiceServer::new(Echo))
        .serve_with_incoming(TcpListenerStream::new(listener))
        .await?;
    Ok(())
}

/// Starts the echo server as a child process of this benchmark's own executable.
pub async fn start(dir: &Path) -> anyhow::Result<ServerProcess> {
    let addr = free_port()?;
    // `/proc/self/exe` still runs this binary when a rebuild has replaced the file meanwhile.
    let me = Path::new("/proc/self/exe");
    let exe = if me.exists() {
        me.to_owned()
    } else {
        std::env::current_exe()?
    };
    let mut command = Command::new(exe);
    command.args(["echo-server", "--listen", &addr.to_string()]);
    ServerProcess::spawn(command, addr, dir.join("echo.log")).await
}

/// Echo calls carrying `payload` and the same `authorization` header the ingest calls carry.
pub fn caller(channels: Vec<Channel>, payload: Vec<u8>, auth: AsciiMetadataValue) -> CallFn {
    let clients: Arc<Vec<EchoServiceClient<Channel>>> =
        Arc::new(channels.into_iter().map(EchoServiceClient::new).collect());
    let payload = Arc::new(payload);
    Arc::new(move |n| {
        let mut client = clients[n as usize % clients.len()].clone();
        let mut request = Request::new(EchoRequest {
            payload: payload.as_ref().clone(),
        });
        request.metadata_mut().insert("authorization", auth.clone());
        async move {
            match client.echo(request).await {
                Ok(r) if !r.get_ref().payload.is_empty() => Ok(()),
                Ok(_) => Err("empty echo".to_owned()),
                Err(status) => Err(format!("{:?}", status.code())),
            }
        }
        .boxed()
    })
}
