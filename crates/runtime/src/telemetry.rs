//! Logs (human or JSON), OpenTelemetry traces exported over OTLP/HTTP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and W3C trace context carried across the gRPC hops.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use opentelemetry::{global, trace::TracerProvider as _};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tower::{Layer, Service};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{EnvFilter, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::{LogFormat, TelemetryConfig};

/// Flushes and stops trace export when dropped.
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        let _ = self.provider.shutdown();
    }
}

/// Installs the global subscriber. Call once, at the start of `main`.
pub fn init(config: &TelemetryConfig, service_name: &str) -> anyhow::Result<TelemetryGuard> {
    global::set_text_map_propagator(TraceContextPropagator::new());
    let mut builder = SdkTracerProvider::builder().with_resource(
        Resource::builder()
            .with_service_name(service_name.to_owned())
            .build(),
    );
    let exporting = std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
        || std::env::var_os("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some();
    if exporting {
        let exporter = opentelemetry_otlp::SpanExporter::builder().with_http().build()?;
        builder = builder.with_batch_exporter(exporter);
    }
    let provider = builder.build();
    global::set_tracer_provider(provider.clone());
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("ovice-slack"));
    let filter = EnvFilter::try_new(&config.log)
        .map_err(|e| anyhow::anyhow!("invalid log filter `{}`: {e}", config.log))?;
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    match config.log_format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            )
            .try_init()?,
        LogFormat::Human => registry
            .with(tracing_subscriber::fmt::layer().with_target(false))
            .try_init()?,
    }
    Ok(TelemetryGuard { provider })
}

/// Server side: one span per gRPC request, continuing the caller's trace from `traceparent`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ServerTraceLayer;

impl<S> Layer<S> for ServerTraceLayer {
    type Service = ServerTrace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ServerTrace { inner }
    }
}

#[derive(Clone, Debug)]
pub struct ServerTrace<S> {
    inner: S,
}

impl<S, B> Service<http::Request<B>> for ServerTrace<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = tracing::instrument::Instrumented<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let parent = global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(req.headers())));
        let path = req.uri().path();
        let span = tracing::info_span!(
            "grpc.server",
            otel.name = %path.trim_start_matches('/'),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.method = %path,
            caller = tracing::field::Empty,
        );
        let _ = span.set_parent(parent);
        let future = span.in_scope(|| self.inner.call(req));
        future.instrument(span)
    }
}

/// Client side: puts the current span's context into `traceparent` so the callee continues the trace.
pub fn inject_trace_context(headers: &mut http::HeaderMap) {
    let cx = tracing::Span::current().context();
    global::get_text_map_propagator(|p| p.inject_context(&cx, &mut HeaderInjector(headers)));
}

/// A boxed future, for the hand-written tower services of this crate.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
