//! Metrics: OpenTelemetry instruments, scrapeable as Prometheus text on `GET /metrics` of the HTTP
//! port, and exported over OTLP too when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

use std::sync::OnceLock;

use axum::{Router, http::header, response::IntoResponse, routing::get};
use opentelemetry::{global, metrics::Meter};
use opentelemetry_prometheus_text_exporter::PrometheusExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};

static EXPORTER: OnceLock<PrometheusExporter> = OnceLock::new();

/// Installs the process-wide meter provider once; later calls return the same exporter.
pub fn install() -> PrometheusExporter {
    EXPORTER
        .get_or_init(|| {
            let exporter = PrometheusExporter::builder().without_scope_info().build();
            let mut builder = SdkMeterProvider::builder().with_reader(exporter.clone());
            if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
                || std::env::var_os("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT").is_some()
            {
                match opentelemetry_otlp::MetricExporter::builder().with_http().build() {
                    Ok(otlp) => builder = builder.with_reader(PeriodicReader::builder(otlp).build()),
                    Err(e) => tracing::error!(error = %e, "OTLP metric export disabled"),
                }
            }
            global::set_meter_provider(builder.build());
            exporter
        })
        .clone()
}

/// The meter every instrument of the project is made from.
pub fn meter() -> Meter {
    global::meter("ovice-slack")
}

/// `GET /metrics` in the Prometheus text format.
pub fn routes() -> Router {
    let exporter = install();
    Router::new().route(
        "/metrics",
        get(move || {
            let exporter = exporter.clone();
            async move {
                let mut body = Vec::with_capacity(16 * 1024);
                match exporter.export(&mut body) {
                    Ok(()) => (
                        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                        body,
                    )
                        .into_response(),
                    Err(e) => {
                        tracing::error!(error = %e, "metrics rendering failed");
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
                    }
                }
            }
        }),
    )
}
