//! One suite, run on SQLite and on PostgreSQL.

use ovice_slack_runtime::test_support::{Backend, TempDirGuard, fresh_database};
use ovice_slack_secrets::SealedToken;
use rstest::rstest;

use super::*;
use crate::domain::{AuditAction, AuditEntry, AuditNote, WorkspaceStatus};
use ovice_slack_model::UnixMillis;

fn o(id: &str) -> OrgId {
    OrgId::new(id)
}

fn workspace(org: &str, team: &str) -> StoredWorkspace {
    StoredWorkspace {
        workspace: Workspace {
            org_id: org.into(),
            team_id: team.into(),
            team_name: "Acme".into(),
            domain: "acme".into(),
            bot_user_id: "UBOT".into(),
            scopes: vec!["users:read".into(), "chat:write".into()],
            status: WorkspaceStatus::Active,
            status_reason: String::new(),
            updated_at: UnixMillis::from_millis(1_700_000_000_000),
            updated_by: "owner-1".into(),
            token_expires_at: None,
            events_enabled: false,
        },
        token: SealedToken {
            key_id: "k1".into(),
            ciphertext: vec![1, 2, 3, 0, 255],
        },
        rotation: None,
        signing_secret: None,
    }
}

fn sealed(bytes: &[u8]) -> SealedToken {
    SealedToken {
        key_id: "k1".into(),
        ciphertext: bytes.to_vec(),
    }
}

fn rotating(org: &str, refresh: &[u8], expires_at: i64, refresh_at: i64) -> StoredWorkspace {
    let mut ws = workspace(org, "T1");
    ws.workspace.token_expires_at = Some(UnixMillis::from_millis(expires_at));
    ws.rotation = Some(StoredRotation {
        client_id: "1.2".into(),
        client_secret: sealed(b"secret"),
        refresh_token: sealed(refresh),
        expires_at: UnixMillis::from_millis(expires_at),
        refresh_at: UnixMillis::from_millis(refresh_at),
    });
    ws
}

fn note(org: &str, at: i64) -> AuditNote {
    AuditNote {
        org_id: org.into(),
        actor: "owner-1".into(),
        detail: "d".into(),
        occurred_at: UnixMillis::from_millis(at),
    }
}

fn audit(org: &str, action: AuditAction, at: i64) -> AuditEntry {
    note(org, at).entry(action)
}

async fn store(backend: Backend) -> (Arc<dyn WorkspaceStore>, Option<TempDirGuard>) {
    let (db, guard) = fresh_database(backend).await.expect("test database");
    (open(&db).await.expect("migrations"), guard)
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn put_get_replace_and_audit(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    assert_eq!(s.get(&o("o1")).await.unwrap(), None);
    let first = s.put(&workspace("o1", "T1"), &note("o1", 1)).await.unwrap();
    assert_eq!(first.previous_team_id, None);
    assert_eq!(s.get(&o("o1")).await.unwrap(), Some(workspace("o1", "T1")));
    let same = s.put(&workspace("o1", "T1"), &note("o1", 2)).await.unwrap();
    assert_eq!(same.previous_team_id, Some("T1".into()));
    let other = s.put(&workspace("o1", "T2"), &note("o1", 3)).await.unwrap();
    assert_eq!(other.previous_team_id, Some("T1".into()));
    assert_eq!(s.get(&o("o1")).await.unwrap().unwrap().workspace.team_id, "T2");
    let actions: Vec<_> = s
        .list_audit(&o("o1"), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(
        actions,
        vec![AuditAction::ReplaceTeam, AuditAction::Update, AuditAction::Create]
    );
    assert_eq!(s.list_audit(&o("o1"), 1).await.unwrap().len(), 1);
    assert!(s.list_audit(&o("o2"), 10).await.unwrap().is_empty());
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn delete_only_audits_what_existed(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    assert!(
        !s.delete(&o("o1"), &audit("o1", AuditAction::Delete, 1))
            .await
            .unwrap()
    );
    assert!(s.list_audit(&o("o1"), 10).await.unwrap().is_empty());
    s.put(&workspace("o1", "T1"), &note("o1", 2)).await.unwrap();
    assert!(
        s.delete(&o("o1"), &audit("o1", AuditAction::Delete, 3))
            .await
            .unwrap()
    );
    assert_eq!(s.get(&o("o1")).await.unwrap(), None);
    assert_eq!(
        s.list_audit(&o("o1"), 10).await.unwrap()[0].action,
        AuditAction::Delete
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn token_invalid_only_for_the_current_team_and_once(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    s.put(&workspace("o1", "T1"), &note("o1", 1)).await.unwrap();
    let stale = s
        .mark_token_invalid(
            &o("o1"),
            Some(&"T0".into()),
            "token_revoked",
            &audit("o1", AuditAction::TokenInvalid, 2),
        )
        .await;
    assert_eq!(stale.unwrap().unwrap().workspace.status, WorkspaceStatus::Active);
    let marked = s
        .mark_token_invalid(
            &o("o1"),
            Some(&"T1".into()),
            "token_revoked",
            &audit("o1", AuditAction::TokenInvalid, 3),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(marked.workspace.status, WorkspaceStatus::TokenInvalid);
    assert_eq!(marked.workspace.status_reason, "token_revoked");
    // A second report changes nothing and is not audited twice.
    s.mark_token_invalid(
        &o("o1"),
        None,
        "invalid_auth",
        &audit("o1", AuditAction::TokenInvalid, 4),
    )
    .await
    .unwrap();
    let audits = s.list_audit(&o("o1"), 10).await.unwrap();
    assert_eq!(
        audits
            .iter()
            .filter(|a| a.action == AuditAction::TokenInvalid)
            .count(),
        1
    );
    assert_eq!(
        s.get(&o("o1")).await.unwrap().unwrap().workspace.status_reason,
        "token_revoked"
    );
    // A new put makes it active again.
    s.put(&workspace("o1", "T1"), &note("o1", 5)).await.unwrap();
    assert_eq!(
        s.get(&o("o1")).await.unwrap().unwrap().workspace.status,
        WorkspaceStatus::Active
    );
    assert_eq!(
        s.mark_token_invalid(
            &o("nobody"),
            None,
            "x",
            &audit("nobody", AuditAction::TokenInvalid, 6)
        )
        .await
        .unwrap(),
        None
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn tokens_are_resealed_only_if_unchanged(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    s.put(&workspace("o1", "T1"), &note("o1", 1)).await.unwrap();
    let old = workspace("o1", "T1").token;
    assert_eq!(s.tokens_sealed_with_other_keys("k1").await.unwrap(), vec![]);
    assert_eq!(
        s.tokens_sealed_with_other_keys("k2").await.unwrap(),
        vec![(o("o1"), old.clone())]
    );
    let new = SealedToken {
        key_id: "k2".into(),
        ciphertext: vec![7; 40],
    };
    assert!(s.replace_token(&o("o1"), &old, &new).await.unwrap());
    // A second re-seal from the stale value changes nothing.
    assert!(
        !s.replace_token(
            &o("o1"),
            &old,
            &SealedToken {
                key_id: "k3".into(),
                ciphertext: vec![1]
            }
        )
        .await
        .unwrap()
    );
    assert_eq!(s.get(&o("o1")).await.unwrap().unwrap().token, new);
}

/// The health check's claim: an org is first due one interval after it is seen, then most overdue
/// first, each taken by one claimer per interval; a TOKEN_INVALID or removed org is not checked; the
/// last result is kept; orgs are counted by status.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn health_checks_are_spread_claimed_once_and_remembered(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    let t = UnixMillis::from_millis;
    for org in ["o1", "o2", "o3"] {
        s.put(&workspace(org, "T1"), &note(org, 1)).await.unwrap();
    }
    // First seen at 0: due at 100, nothing due before.
    assert_eq!(s.claim_due_check(t(0), t(100)).await.unwrap(), None);
    assert_eq!(s.claim_due_check(t(99), t(199)).await.unwrap(), None);
    let mut first = vec![];
    for _ in 0..3 {
        first.push(s.claim_due_check(t(100), t(200)).await.unwrap().unwrap());
    }
    first.sort();
    assert_eq!(first, vec![o("o1"), o("o2"), o("o3")]);
    assert_eq!(s.claim_due_check(t(150), t(250)).await.unwrap(), None);

    let invalid = audit("o2", AuditAction::TokenInvalid, 2);
    s.mark_token_invalid(&o("o2"), None, "token_revoked", &invalid)
        .await
        .unwrap();
    s.delete(&o("o3"), &audit("o3", AuditAction::Delete, 3))
        .await
        .unwrap();
    assert_eq!(s.claim_due_check(t(200), t(300)).await.unwrap(), Some(o("o1")));
    assert_eq!(s.claim_due_check(t(200), t(300)).await.unwrap(), None);

    assert_eq!(s.last_check(&o("o1")).await.unwrap(), None);
    let found = WorkspaceCheck {
        checked_at: t(201),
        problem: "missing scope".into(),
    };
    s.record_check(&o("o1"), &found).await.unwrap();
    assert_eq!(s.last_check(&o("o1")).await.unwrap(), Some(found));
    assert_eq!(s.count_by_status().await.unwrap(), (1, 1));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn rotating_tokens_are_renewed_by_one_claim_and_only_if_unchanged(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    let t = UnixMillis::from_millis;
    s.put(&workspace("plain", "T1"), &note("plain", 1)).await.unwrap();
    s.put(&rotating("o1", b"r1", 2_000, 1_000), &note("o1", 1))
        .await
        .unwrap();
    assert_eq!(
        s.get(&o("o1")).await.unwrap(),
        Some(rotating("o1", b"r1", 2_000, 1_000))
    );
    // Not due before its renewal time; plain tokens never.
    assert!(s.due_refreshes(t(999), 10).await.unwrap().is_empty());
    assert_eq!(s.due_refreshes(t(1_000), 10).await.unwrap(), vec![o("o1")]);
    // One claim at a time; a claimed org is not listed as due; the claim lapses.
    assert!(s.claim_refresh(&o("o1"), t(1_000), t(31_000)).await.unwrap());
    assert!(!s.claim_refresh(&o("o1"), t(1_001), t(31_001)).await.unwrap());
    assert!(s.due_refreshes(t(1_001), 10).await.unwrap().is_empty());
    assert!(!s.claim_refresh(&o("plain"), t(1_000), t(31_000)).await.unwrap());
    assert!(s.claim_refresh(&o("o1"), t(31_000), t(61_000)).await.unwrap());
    // Letting go of the lapsed first claim leaves the second one's alone; its owner's release works.
    s.release_refresh(&o("o1"), t(31_000)).await.unwrap();
    assert!(!s.claim_refresh(&o("o1"), t(31_001), t(61_001)).await.unwrap());
    s.release_refresh(&o("o1"), t(61_000)).await.unwrap();
    assert!(s.claim_refresh(&o("o1"), t(31_001), t(61_001)).await.unwrap());
    // The renewed pair is stored only over the refresh token it spent, and releases the claim.
    let next = rotating("o1", b"r2", 50_000, 40_000);
    let next_rotation = next.rotation.clone().unwrap();
    assert!(
        !s.store_refreshed(&o("o1"), &sealed(b"other"), &sealed(b"t2"), &next_rotation)
            .await
            .unwrap()
    );
    assert!(
        s.store_refreshed(&o("o1"), &sealed(b"r1"), &sealed(b"t2"), &next_rotation)
            .await
            .unwrap()
    );
    assert!(
        !s.store_refreshed(&o("o1"), &sealed(b"r1"), &sealed(b"t3"), &next_rotation)
            .await
            .unwrap()
    );
    let stored = s.get(&o("o1")).await.unwrap().unwrap();
    assert_eq!(stored.token, sealed(b"t2"));
    assert_eq!(stored.rotation, next.rotation);
    assert_eq!(stored.workspace.token_expires_at, Some(t(50_000)));
    assert!(s.claim_refresh(&o("o1"), t(31_002), t(61_002)).await.unwrap());
    // A failed renewal is put off, never brought forward.
    s.postpone_refresh(&o("o1"), t(100_000)).await.unwrap();
    s.postpone_refresh(&o("o1"), t(70_000)).await.unwrap();
    assert!(s.due_refreshes(t(99_999), 10).await.unwrap().is_empty());
    assert_eq!(s.due_refreshes(t(100_000), 10).await.unwrap(), vec![o("o1")]);
    // After an encryption-key rotation, the refresh token and the client secret are re-sealed too.
    assert!(
        s.rotation_secrets_sealed_with_other_keys("k1")
            .await
            .unwrap()
            .is_empty()
    );
    let old = s.rotation_secrets_sealed_with_other_keys("k2").await.unwrap();
    assert_eq!(old, vec![(o("o1"), sealed(b"r2"), sealed(b"secret"))]);
    let k2 = |b: &[u8]| SealedToken {
        key_id: "k2".into(),
        ciphertext: b.to_vec(),
    };
    assert!(
        !s.replace_rotation_secrets(&o("o1"), &sealed(b"r1"), &k2(b"r2"), &k2(b"s"))
            .await
            .unwrap()
    );
    assert!(
        s.replace_rotation_secrets(&o("o1"), &sealed(b"r2"), &k2(b"r2"), &k2(b"s"))
            .await
            .unwrap()
    );
    assert!(
        s.rotation_secrets_sealed_with_other_keys("k2")
            .await
            .unwrap()
            .is_empty()
    );
    // A put of a token that does not rotate ends the rotation.
    s.put(&workspace("o1", "T1"), &note("o1", 2)).await.unwrap();
    assert_eq!(s.get(&o("o1")).await.unwrap().unwrap().rotation, None);
    assert!(s.due_refreshes(t(100_000), 10).await.unwrap().is_empty());
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn signing_secrets_are_resealed_only_if_unchanged(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    let mut ws = workspace("o1", "T1");
    ws.signing_secret = Some(sealed(b"sign-1"));
    s.put(&ws, &note("o1", 1)).await.unwrap();
    s.put(&workspace("o2", "T2"), &note("o2", 1)).await.unwrap();
    assert!(
        s.signing_secrets_sealed_with_other_keys("k1")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.signing_secrets_sealed_with_other_keys("k2").await.unwrap(),
        vec![(o("o1"), sealed(b"sign-1"))]
    );
    let k2 = SealedToken {
        key_id: "k2".into(),
        ciphertext: b"sign-1'".to_vec(),
    };
    assert!(
        !s.replace_signing_secret(&o("o1"), &sealed(b"other"), &k2)
            .await
            .unwrap()
    );
    assert!(
        s.replace_signing_secret(&o("o1"), &sealed(b"sign-1"), &k2)
            .await
            .unwrap()
    );
    assert_eq!(s.get(&o("o1")).await.unwrap().unwrap().signing_secret, Some(k2));
    assert!(
        s.signing_secrets_sealed_with_other_keys("k2")
            .await
            .unwrap()
            .is_empty()
    );
}
