//! The HTTP side of a process: the OAuth callback pages (and later metrics), with graceful shutdown.

use axum::{Router, routing::get};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The routes every process serves (liveness, Prometheus metrics), to which targets add theirs.
pub fn base_routes() -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .merge(crate::metrics::routes())
}

/// `GET /readyz`: 200 while the gRPC server is SERVING, 503 before and once it drains.
pub fn readiness_routes(readiness: crate::server::Readiness) -> Router {
    Router::new().route(
        "/readyz",
        get(move || async move {
            if readiness.is_ready() {
                (http::StatusCode::OK, "serving\n")
            } else {
                (http::StatusCode::SERVICE_UNAVAILABLE, "not serving\n")
            }
        }),
    )
}

/// Serves `router` until `shutdown` is cancelled; requests in flight are finished.
pub async fn serve(listener: TcpListener, router: Router, shutdown: CancellationToken) -> anyhow::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    Ok(())
}
