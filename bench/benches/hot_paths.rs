//! Micro-benchmarks of the hot paths the profile of an ingest run points at (see BENCHMARKS.md):
//! the JWT check every call pays (twice per publish in one process: at the gateway and at
//! DeliveryService), the mrkdwn rendering of every delivered message, and the outbox queries the
//! claim loop runs per wake-up (`claim_due`, `next_wakeup`) against backlogs of growing size.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{hint::black_box, time::Duration};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use delivery::{
    domain::{
        ChatMessage, Delivery, LinkUrl, Mention, Sender, SlackText, SpaceRole, UnixMillis, escape_mrkdwn,
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

criterion_group!(benches, jwt, format, claim);
criterion_main!(benches);
