//! Clients of the other services. The generated tonic clients run over a [`GrpcChannel`]: either the
//! peer's server object in this process (no socket, same interceptors and encoding) or a network
//! channel to its address. Either way each call carries a service token and the trace context.

use std::{
    convert::Infallible,
    task::{Context, Poll},
    time::Duration,
};

use http::header::{AUTHORIZATION, HeaderValue};
use tonic::{body::Body, transport::Endpoint};
use tower::{BoxError, Layer, Service, ServiceExt, util::BoxCloneSyncService};

use crate::{auth::ServiceTokens, telemetry::inject_trace_context, tls::Tls};

/// A type-erased gRPC transport that generated clients accept.
pub type GrpcChannel = BoxCloneSyncService<http::Request<Body>, http::Response<Body>, TransportError>;

/// A transport failure of a peer call (connection refused, reset, …). A concrete type rather than
/// `BoxError`, because generated clients over a boxed-error service trip a higher-ranked lifetime
/// limitation of rustc inside `Send` futures.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct TransportError(pub BoxError);

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("`{addr}` is not a valid gRPC address (expected e.g. http://delivery:50051): {source}")]
    BadAddress {
        addr: String,
        source: tonic::transport::Error,
    },
    #[error(
        "`{addr}` is a plaintext address, but TLS is configured: peers are called over TLS only (https://…)"
    )]
    PlaintextPeer { addr: String },
    #[error("`{addr}` needs TLS: give --tls-cert-file, --tls-key-file and --tls-ca-file")]
    TlsNotConfigured { addr: String },
    #[error("TLS to `{addr}` cannot be set up: {source}")]
    Tls {
        addr: String,
        source: tonic::transport::Error,
    },
}

/// A channel to a server object of this process.
pub fn in_process<S, B>(server: S) -> GrpcChannel
where
    S: Service<http::Request<Body>, Response = http::Response<B>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let traced = crate::telemetry::ServerTraceLayer.layer(server);
    BoxCloneSyncService::new(
        traced
            .map_response(|r: http::Response<B>| r.map(Body::new))
            .map_err(|e: Infallible| match e {}),
    )
}

/// A lazily connecting channel to a peer in another process: over TLS with this process's certificate
/// when `tls` is given (and then only to an `https://` address), plaintext h2c otherwise.
pub fn remote(addr: &str, timeout: Duration, tls: Option<&Tls>) -> Result<GrpcChannel, PeerError> {
    let secure = addr.starts_with("https://");
    let mut endpoint = Endpoint::from_shared(addr.to_owned())
        .map_err(|source| PeerError::BadAddress {
            addr: addr.to_owned(),
            source,
        })?
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    match (tls, secure) {
        (Some(tls), true) => {
            endpoint = endpoint
                .tls_config(tls.client())
                .map_err(|source| PeerError::Tls {
                    addr: addr.to_owned(),
                    source,
                })?;
        }
        (Some(_), false) => {
            return Err(PeerError::PlaintextPeer {
                addr: addr.to_owned(),
            });
        }
        (None, true) => {
            return Err(PeerError::TlsNotConfigured {
                addr: addr.to_owned(),
            });
        }
        (None, false) => {}
    }
    let channel = endpoint.connect_lazy();
    Ok(BoxCloneSyncService::new(
        channel.map_err(|e| TransportError(e.into())),
    ))
}

/// Adds the service token and the trace context to every call on `channel`.
pub fn with_identity(channel: GrpcChannel, tokens: ServiceTokens) -> GrpcChannel {
    BoxCloneSyncService::new(PeerIdentity {
        inner: channel,
        tokens,
    })
}

#[derive(Clone)]
struct PeerIdentity {
    inner: GrpcChannel,
    tokens: ServiceTokens,
}

impl Service<http::Request<Body>> for PeerIdentity {
    type Response = http::Response<Body>;
    type Error = TransportError;
    type Future = <GrpcChannel as Service<http::Request<Body>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<Body>) -> Self::Future {
        inject_trace_context(req.headers_mut());
        match self.tokens.bearer().map(|b| HeaderValue::from_str(&b)) {
            Ok(Ok(value)) => {
                req.headers_mut().insert(AUTHORIZATION, value);
            }
            // Without a token the peer answers UNAUTHENTICATED, which the caller reports; better
            // than a panic in a transport.
            _ => tracing::error!("could not mint a service token for a peer call"),
        }
        self.inner.call(req)
    }
}
