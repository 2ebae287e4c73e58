//! One gRPC server per process: the targets' services (each with the auth interceptor), health
//! (`grpc.health.v1`) and reflection (v1 and v1alpha, as grpcurl 1.8 speaks only v1alpha), with limits
//! on streams, in-flight requests and request time, and graceful shutdown.

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::{
    body::Body,
    server::NamedService,
    service::{Routes, RoutesBuilder},
    transport::Server,
};
use tonic_health::{ServingStatus, server::HealthReporter};
use tower::{Service, ServiceBuilder, limit::GlobalConcurrencyLimitLayer};

use crate::{config::ServerConfig, telemetry::ServerTraceLayer, tls::Tls};

/// Collects the services of this process.
pub struct GrpcServerBuilder {
    routes: RoutesBuilder,
    names: Vec<&'static str>,
}

impl Default for GrpcServerBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl GrpcServerBuilder {
    pub fn new() -> Self {
        Self {
            routes: RoutesBuilder::default(),
            names: Vec::new(),
        }
    }

    pub fn add_service<S>(&mut self, service: S) -> &mut Self
    where
        S: Service<http::Request<Body>, Error = Infallible> + NamedService + Clone + Send + Sync + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// Adds health (every service NOT_SERVING until [`GrpcServer::set_serving`]) and reflection.
    pub async fn build(mut self) -> anyhow::Result<GrpcServer> {
        let (health, health_service) = tonic_health::server::health_reporter();
        health.set_service_status("", ServingStatus::NotServing).await;
        for name in &self.names {
            health.set_service_status(*name, ServingStatus::NotServing).await;
        }
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(ovice_slack_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(ovice_slack_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;
        self.routes
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha);
        Ok(GrpcServer {
            routes: self.routes.routes(),
            health,
            names: self.names,
            ready: Readiness::default(),
        })
    }
}

/// The built server, ready to serve on a listener.
pub struct GrpcServer {
    routes: Routes,
    health: HealthReporter,
    names: Vec<&'static str>,
    ready: Readiness,
}

/// Whether the gRPC server is SERVING, for probes that cannot speak gRPC over mutual TLS (the
/// kubelet's gRPC probe has no client certificate): `GET /readyz` on the HTTP port.
#[derive(Clone, Debug, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Release);
    }
}

impl GrpcServer {
    pub fn health(&self) -> HealthReporter {
        self.health.clone()
    }

    pub fn readiness(&self) -> Readiness {
        self.ready.clone()
    }

    /// Marks every service (and the server as a whole) SERVING.
    pub async fn set_serving(&self) {
        for name in &self.names {
            self.health
                .set_service_status(*name, ServingStatus::Serving)
                .await;
        }
        self.health.set_service_status("", ServingStatus::Serving).await;
        self.ready.set(true);
    }

    async fn set_not_serving(&self) {
        self.ready.set(false);
        self.health
            .set_service_status("", ServingStatus::NotServing)
            .await;
        for name in &self.names {
            self.health
                .set_service_status(*name, ServingStatus::NotServing)
                .await;
        }
    }

    /// Serves (over TLS when `tls` is given) until `shutdown` is cancelled, then reports NOT_SERVING, stops accepting and lets in-flight
    /// calls finish.
    pub async fn serve(
        self,
        listener: TcpListener,
        config: &ServerConfig,
        tls: Option<&Tls>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let layers = ServiceBuilder::new()
            .load_shed()
            .layer(GlobalConcurrencyLimitLayer::new(config.max_in_flight))
            .layer(ServerTraceLayer)
            .into_inner();
        let routes = self.routes.clone();
        let health = self.health.clone();
        let names = self.names.clone();
        let ready = self.ready.clone();
        let drained = async move {
            shutdown.cancelled().await;
            GrpcServer {
                routes: Routes::default(),
                health,
                names,
                ready,
            }
            .set_not_serving()
            .await;
        };
        let mut builder = Server::builder();
        if let Some(tls) = tls {
            builder = builder.tls_config(tls.server())?;
        }
        builder
            .max_concurrent_streams(Some(config.max_concurrent_streams))
            .timeout(config.request_timeout)
            .tcp_nodelay(true)
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(Duration::from_secs(10)))
            .layer(layers)
            .add_routes(routes)
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), drained)
            .await?;
        Ok(())
    }
}
