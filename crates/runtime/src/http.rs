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

/// Serves `router` until `shutdown` is cancelled; requests in flight are finished.
pub async fn serve(listener: TcpListener, router: Router, shutdown: CancellationToken) -> anyhow::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    Ok(())
}
