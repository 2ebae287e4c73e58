//! Micro-benchmarks of the hot paths the profile of an ingest run points at (see BENCHMARKS.md):
//! the JWT check every call pays (twice per publish in one process: at the gateway and at
//! DeliveryService), the mrkdwn rendering of every delivered message, and the outbox queries the
//! claim loop runs per wake-up (`claim_due`, `next_wakeup`) against backlogs of growing size, and
//! what mutual TLS between the services costs a call and a new connection, against plaintext h2c.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{hint::black_box, time::Duration};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use delivery::{
    domain::{
        ChatMessage, Delivery, Language, LinkUrl, Mention, Sender, SlackText, SpaceRole, UnixMillis,
        escape_mrkdwn,
    },
    store::{Claim, OutboxStore},
};
use ovice_slack_runtime::{
    auth::{Claims, JwtKeys, PlatformKeys, ServiceKey, ServiceKeySet, ServiceTokens, SvcRole},
    db::Database,
};
use secrecy::SecretString;

fn jwt(c: &mut Criterion) {
    ovice_slack_runtime::install_crypto_providers();
    let platform = PlatformKeys::new(
        Some(&SecretString::from("bench-secret-bench-secret-0123456789abcdef")),
        None,
    )
    .unwrap();
    let (service, _) = ServiceKey::generate("gateway".parse().unwrap()).unwrap();
    let keys = JwtKeys::new(
        platform.clone(),
        ServiceKeySet::default().with(&service),
        "ovice-slack",
    );
    let token = platform
        .minter()
        .unwrap()
        .mint(&Claims {
            sub: "ovice-platform".into(),
            org: None,
            email: None,
            email_verified: None,
            org_role: None,
            perms: vec![],
            space: None,
            space_role: None,
            svc_role: Some(SvcRole::Platform),
            exp: chrono::Utc::now().timestamp() + 3600,
            iat: None,
            nbf: None,
            aud: "ovice-slack".into(),
            locale: None,
        })
        .unwrap();
    c.bench_function("jwt/verify_hs256", |b| {
        b.iter(|| keys.verify(black_box(&token)).unwrap())
    });
    // What every call between two services costs: the gateway's token on EnqueueDirectMessage.
    let tokens_key = service.clone();
    let tokens = ServiceTokens::new(service, "ovice-slack");
    let bearer = tokens.bearer().unwrap();
    let service_token = bearer.trim_start_matches("Bearer ");
    // The first call with a token checks the Ed25519 signature; later ones find it verified.
    let set = ServiceKeySet::default().with(&tokens_key);
    c.bench_function("jwt/verify_service_first", |b| {
        b.iter_batched(
            || JwtKeys::new(platform.clone(), set.clone(), "ovice-slack"),
            |fresh| fresh.verify(black_box(service_token)).unwrap(),
            criterion::BatchSize::SmallInput,
        )
    });
    c.bench_function("jwt/verify_service_again", |b| {
        b.iter(|| keys.verify(black_box(service_token)).unwrap())
    });
}

const TYPICAL: &str =
    "Could you look at the Q3 plan before the 3pm sync? R&D says <2 days> of work; @here is fine too.";

fn format(c: &mut Criterion) {
    let link = LinkUrl::parse("https://app.ovice.example/space-1/chat/m-0000001234").unwrap();
    let long: String = TYPICAL.repeat(60);
    let mut g = c.benchmark_group("format");
    for (name, text) in [("typical_100B", TYPICAL), ("long_6KB_cut", long.as_str())] {
        g.bench_with_input(BenchmarkId::new("render", name), text, |b, text| {
            b.iter(|| {
                SlackText {
                    sender_name: "Hana Host",
                    sender_is_visitor: false,
                    space_name: "Tokyo Office",
                    text: black_box(text),
                    link: Some(&link),
                    language: Language::Japanese,
                }
                .render()
            })
        });
        g.bench_with_input(BenchmarkId::new("escape_mrkdwn", name), text, |b, text| {
            b.iter(|| escape_mrkdwn(black_box(text)))
        });
    }
    g.bench_function("link_url_parse", |b| {
        b.iter(|| LinkUrl::parse(black_box("https://app.ovice.example/space-1/chat/m-0000001234")).unwrap())
    });
    g.finish();
}

fn delivery(i: usize, now: UnixMillis) -> Delivery {
    let message = ChatMessage {
        org_id: "org-1".into(),
        space_id: "space-1".into(),
        space_name: "Tokyo Office".into(),
        message_id: format!("m{i:07}"),
        sent_at: UnixMillis::from_millis(now.as_millis() + i as i64),
        sender: Sender {
            user_id: "host0001".into(),
            display_name: "Hana Host".into(),
            role: SpaceRole::Member,
        },
        text: TYPICAL.into(),
        mentions: vec![Mention::User(format!("user{:04}", i % 1000).into())],
        link_url: None,
    };
    Delivery::accept(
        uuid::Uuid::now_v7().to_string().into(),
        &message,
        &format!("user{:04}", i % 1000).into(),
        now,
        String::new(),
    )
}

/// An outbox with `pending` due rows over 1,000 recipients.
async fn outbox(db: &Database, pending: usize, now: UnixMillis) -> std::sync::Arc<dyn OutboxStore> {
    let store = delivery::store::open(db).await.unwrap();
    for i in 0..pending {
        store.insert_if_absent(&delivery(i, now)).await.unwrap();
    }
    store
}

/// Makes a fresh, empty database of one backend.
type FreshDatabase = Box<dyn Fn() -> SecretString>;

fn claim(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let now = UnixMillis::now();
    let mut backends: Vec<(&str, FreshDatabase)> = vec![(
        "sqlite",
        Box::new(|| {
            let dir =
                std::env::temp_dir().join(format!("ovice-slack-claim-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&dir).unwrap();
            SecretString::from(format!("sqlite://{}/claim.db", dir.display()))
        }),
    )];
    if std::env::var(ovice_slack_runtime::test_support::POSTGRES_URL_VAR).is_ok() {
        backends.push((
            "postgres",
            Box::new(|| {
                tokio::runtime::Runtime::new()
                    .unwrap()
                    .block_on(ovice_slack_runtime::test_support::fresh_postgres_database())
                    .unwrap()
            }),
        ));
    }
    let mut g = c.benchmark_group("outbox");
    g.measurement_time(Duration::from_secs(4)).sample_size(20);
    for (backend, url) in &backends {
        for pending in [100usize, 1_000, 10_000] {
            let db = rt.block_on(Database::connect(&url(), 8)).unwrap();
            let store = rt.block_on(outbox(&db, pending, now));
            // A lease that ends at `now` leaves the rows claimable by the next iteration.
            let claim = Claim {
                worker_id: "bench",
                now,
                lease_until: now,
                limit: 8,
                per_org: 8,
            };
            g.bench_with_input(
                BenchmarkId::new(format!("claim_due_8/{backend}"), pending),
                &pending,
                |b, _| b.iter(|| rt.block_on(store.claim_due(claim)).unwrap()),
            );
            g.bench_with_input(
                BenchmarkId::new(format!("next_wakeup/{backend}"), pending),
                &pending,
                |b, _| b.iter(|| rt.block_on(store.next_wakeup(now)).unwrap()),
            );
            rt.block_on(db.close());
        }
    }
    g.finish();
}

/// A CA and one certificate for 127.0.0.1, as the runtime reads them (`--tls-*-file`).
fn bench_tls(dir: &std::path::Path) -> ovice_slack_runtime::tls::Tls {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    leaf.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &ca).unwrap();
    let write = |name: &str, pem: String| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        Some(path)
    };
    ovice_slack_runtime::tls::Tls::load(&ovice_slack_runtime::config::TlsConfig {
        tls_cert_file: write("tls.crt", cert.pem()),
        tls_key_file: write("tls.key", key.serialize_pem()),
        tls_ca_file: write("ca.crt", ca.pem()),
        tls_client_auth: ovice_slack_runtime::config::ClientAuth::Required,
    })
    .unwrap()
    .unwrap()
}

/// A unary call (gRPC health `Check`) over loopback on an open connection, and a new connection plus
/// that call: plaintext h2c against mutual TLS as the microservices form runs it.
fn transport(c: &mut Criterion) {
    use tonic::transport::{Channel, Server};
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

    ovice_slack_runtime::install_crypto_providers();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tls = bench_tls(dir.path());
    let serve = |tls: Option<&ovice_slack_runtime::tls::Tls>| {
        let mut builder = Server::builder();
        if let Some(tls) = tls {
            builder = builder.tls_config(tls.server()).unwrap();
        }
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (_, health) = tonic_health::server::health_reporter();
            tokio::spawn(
                builder
                    .add_service(health)
                    .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
            );
            addr
        })
    };
    let plain = serve(None);
    let secure = serve(Some(&tls));
    let connect = |addr: std::net::SocketAddr, tls: Option<tonic::transport::ClientTlsConfig>| async move {
        let endpoint = match tls {
            Some(tls) => Channel::from_shared(format!("https://{addr}"))
                .unwrap()
                .tls_config(tls)
                .unwrap(),
            None => Channel::from_shared(format!("http://{addr}")).unwrap(),
        };
        endpoint.connect().await.unwrap()
    };
    let check = |channel: Channel| async move {
        HealthClient::new(channel)
            .check(HealthCheckRequest::default())
            .await
            .unwrap()
    };
    let mut g = c.benchmark_group("grpc");
    for (name, addr, client) in [("h2c", plain, None), ("mtls", secure, Some(tls.client()))] {
        let channel = rt.block_on(connect(addr, client.clone()));
        g.bench_function(format!("{name}/call"), |b| {
            b.iter(|| rt.block_on(check(channel.clone())))
        });
        g.bench_function(format!("{name}/connect_and_call"), |b| {
            b.iter(|| rt.block_on(async { check(connect(addr, client.clone()).await).await }))
        });
    }
    g.finish();
}

criterion_group!(benches, jwt, format, claim, transport);
criterion_main!(benches);
