//! A small OTLP/HTTP receiver: what a collector would see of the traces a process exports.

use std::sync::{Arc, Mutex};

use axum::{Router, body::Bytes, extract::State, routing::post};
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{AnyValue, KeyValue, any_value::Value},
};
use prost::Message;

/// One exported span, reduced to what the tests look at.
#[derive(Clone, Debug)]
pub struct ReceivedSpan {
    pub service: String,
    pub trace_id: String,
    pub name: String,
    /// The span's attributes (`key`, value as text), e.g. the fields of a `tracing` span.
    pub attributes: Vec<(String, String)>,
    /// The span's events (the log events inside it): name and attributes.
    pub events: Vec<(String, Vec<(String, String)>)>,
    /// The status message (set on errors).
    pub status_message: String,
}

impl ReceivedSpan {
    /// Everything the span carries as text, for searching it.
    pub fn all_text(&self) -> String {
        let mut out = format!("{} {} {}", self.service, self.name, self.status_message);
        for (k, v) in &self.attributes {
            out.push_str(&format!(" {k}={v}"));
        }
        for (name, attributes) in &self.events {
            out.push_str(&format!(" event {name}"));
            for (k, v) in attributes {
                out.push_str(&format!(" {k}={v}"));
            }
        }
        out
    }
}

#[derive(Clone, Default)]
pub struct OtlpReceiver {
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    pub endpoint: String,
}

impl OtlpReceiver {
    pub async fn start() -> Self {
        let spans: Arc<Mutex<Vec<ReceivedSpan>>> = Arc::default();
        let app = Router::new()
            .route("/v1/traces", post(receive))
            .with_state(spans.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { spans, endpoint }
    }

    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().unwrap().clone()
    }
}

async fn receive(State(spans): State<Arc<Mutex<Vec<ReceivedSpan>>>>, body: Bytes) -> Vec<u8> {
    let request = ExportTraceServiceRequest::decode(body).unwrap();
    let mut out = spans.lock().unwrap();
    for resource in request.resource_spans {
        let service = resource
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|a| a.key == "service.name")
            .and_then(|a| a.value.as_ref())
            .map(|v| format!("{:?}", v.value))
            .unwrap_or_default();
        for scope in resource.scope_spans {
            for span in scope.spans {
                out.push(ReceivedSpan {
                    service: service.clone(),
                    trace_id: hex(&span.trace_id),
                    name: span.name,
                    attributes: pairs(&span.attributes),
                    events: span
                        .events
                        .iter()
                        .map(|e| (e.name.clone(), pairs(&e.attributes)))
                        .collect(),
                    status_message: span.status.map(|s| s.message).unwrap_or_default(),
                });
            }
        }
    }
    Vec::new()
}

fn pairs(attributes: &[KeyValue]) -> Vec<(String, String)> {
    attributes
        .iter()
        .map(|a| (a.key.clone(), a.value.as_ref().map(text).unwrap_or_default()))
        .collect()
}

fn text(v: &AnyValue) -> String {
    match &v.value {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(Value::BytesValue(b)) => String::from_utf8_lossy(b).into_owned(),
        Some(Value::ArrayValue(a)) => a.values.iter().map(text).collect::<Vec<_>>().join(","),
        Some(Value::KvlistValue(kv)) => pairs(&kv.values)
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
        // A string-table index: no text of its own.
        Some(Value::StringValueStrindex(i)) => format!("#{i}"),
        None => String::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
