//! One suite, run on SQLite and on PostgreSQL.

use ovice_slack_events::EmailDigest;
use ovice_slack_runtime::test_support::{Backend, TempDirGuard, fresh_database};
use ovice_slack_secrets::SealedToken;
use rstest::rstest;

use super::*;
use crate::domain::LinkState;

fn o(id: &str) -> OrgId {
    OrgId::new(id)
}

fn u(id: &str) -> UserId {
    UserId::new(id)
}

fn t(millis: i64) -> UnixMillis {
    UnixMillis::from_millis(millis)
}

async fn store(backend: Backend) -> (Arc<dyn LinkStore>, Option<TempDirGuard>) {
    let (db, guard) = fresh_database(backend).await.expect("test database");
    (open(&db).await.expect("migrations"), guard)
}

fn pending(hash: &str, expires_at: i64) -> PendingConnect {
    PendingConnect {
        state_hash: hash.into(),
        org_id: "o1".into(),
        user_id: "u1".into(),
        email: "a@x.test".into(),
        space_id: "s1".into(),
        team_id: "T1".into(),
        verifier: SealedToken {
            key_id: "k1".into(),
            ciphertext: vec![9, 8, 7],
        },
        created_at: t(1),
        expires_at: t(expires_at),
        used: false,
        language: Some(ovice_slack_model::Language::Japanese),
    }
}

fn link(user: &str) -> Link {
    Link {
        org_id: "o1".into(),
        user_id: user.into(),
        slack_team_id: "T1".into(),
        slack_user_id: format!("U-{user}").into(),
        slack_user_name: user.into(),
        scopes: vec!["chat:write".into(), "im:write".into()],
        token: Some(SealedToken {
            key_id: "k1".into(),
            ciphertext: vec![1, 2, 3],
        }),
        email_digest: Some(EmailDigest::of(&format!("{user}@x.test"))),
        state: LinkState::Connected,
        state_reason: String::new(),
        connected_at: t(10),
        updated_at: t(10),
        rotation: None,
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_pending_flow_is_spent_once_and_only_before_expiry(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    s.insert_pending(&pending("h1", 100)).await.unwrap();
    s.insert_pending(&pending("h2", 100)).await.unwrap();
    assert_eq!(s.find_pending("h1").await.unwrap(), Some(pending("h1", 100)));
    assert_eq!(s.find_pending("nope").await.unwrap(), None);
    assert!(s.spend_pending("h1", t(50)).await.unwrap());
    assert!(!s.spend_pending("h1", t(51)).await.unwrap(), "spent twice");
    assert!(s.find_pending("h1").await.unwrap().unwrap().used);
    assert!(!s.spend_pending("h2", t(100)).await.unwrap(), "spent at expiry");
    assert_eq!(s.purge_pending(t(101)).await.unwrap(), 2);
    assert_eq!(s.find_pending("h2").await.unwrap(), None);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn concurrent_spends_have_one_winner(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    s.insert_pending(&pending("h1", 1000)).await.unwrap();
    let spends = (0..8).map(|_| {
        let s = s.clone();
        tokio::spawn(async move { s.spend_pending("h1", t(5)).await.unwrap() })
    });
    let mut winners = 0;
    for spend in spends {
        winners += usize::from(spend.await.unwrap());
    }
    assert_eq!(winners, 1);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn links_are_per_org_and_user(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    assert_eq!(s.get_link(&o("o1"), &u("u1")).await.unwrap(), None);
    assert_eq!(s.put_link(&link("u1")).await.unwrap(), PutLink::Stored);
    assert_eq!(s.put_link(&link("u2")).await.unwrap(), PutLink::Stored);
    let mut other_org = link("u1");
    other_org.org_id = o("o2");
    s.put_link(&other_org).await.unwrap();
    assert_eq!(s.get_link(&o("o1"), &u("u1")).await.unwrap(), Some(link("u1")));
    // A batch in one query: only this org's links of the users named, the unlinked left out.
    let ids = ["u2", "nobody", "u1"].map(UserId::new);
    let mut batch = s.get_links(&o("o1"), &ids).await.unwrap();
    batch.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    assert_eq!(batch, [link("u1"), link("u2")]);
    assert_eq!(s.get_links(&o("o2"), &ids).await.unwrap(), [other_org.clone()]);
    assert!(s.get_links(&o("o1"), &[]).await.unwrap().is_empty());
    // Reconnecting replaces the link.
    let mut again = link("u1");
    again.slack_user_name = "alice".into();
    s.put_link(&again).await.unwrap();
    assert_eq!(
        s.get_link(&o("o1"), &u("u1"))
            .await
            .unwrap()
            .unwrap()
            .slack_user_name,
        "alice"
    );

    let page1 = s.list_links(&o("o1"), &"T1".into(), None, 1).await.unwrap();
    assert_eq!(
        page1.iter().map(|l| l.user_id.as_str()).collect::<Vec<_>>(),
        ["u1"]
    );
    let page2 = s
        .list_links(&o("o1"), &"T1".into(), Some(&u("u1")), 10)
        .await
        .unwrap();
    assert_eq!(
        page2.iter().map(|l| l.user_id.as_str()).collect::<Vec<_>>(),
        ["u2"]
    );
    assert!(
        s.list_links(&o("o1"), &"T2".into(), None, 10)
            .await
            .unwrap()
            .is_empty(),
        "another team's links"
    );

    assert!(
        s.mark_needs_reconnect(&o("o1"), &u("u2"), "token_revoked", t(20))
            .await
            .unwrap()
    );
    assert!(
        !s.mark_needs_reconnect(&o("o1"), &u("u2"), "again", t(21))
            .await
            .unwrap()
    );
    let marked = s.get_link(&o("o1"), &u("u2")).await.unwrap().unwrap();
    assert_eq!(
        (marked.state, marked.state_reason.as_str()),
        (LinkState::NeedsReconnect, "token_revoked")
    );

    assert!(s.delete_link(&o("o1"), &u("u1")).await.unwrap());
    assert!(!s.delete_link(&o("o1"), &u("u1")).await.unwrap());
    assert!(
        s.get_link(&o("o2"), &u("u1")).await.unwrap().is_some(),
        "another org's link is untouched"
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn user_tokens_are_resealed_only_if_unchanged(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    s.put_link(&link("u1")).await.unwrap();
    let old = link("u1").token.unwrap();
    assert_eq!(
        s.sealed_tokens().await.unwrap(),
        vec![("o1".into(), "u1".into(), old.clone())]
    );
    let new = SealedToken {
        key_id: "k2".into(),
        ciphertext: vec![5; 40],
    };
    assert!(s.replace_token(&o("o1"), &u("u1"), &old, &new).await.unwrap());
    assert!(!s.replace_token(&o("o1"), &u("u1"), &old, &new).await.unwrap());
    assert_eq!(
        s.get_link(&o("o1"), &u("u1")).await.unwrap().unwrap().token,
        Some(new)
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_person_keeps_only_their_newest_pending_flows(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    for i in 0..8 {
        let mut p = pending(&format!("h{i}"), 1_000);
        p.created_at = t(i);
        s.insert_pending(&p).await.unwrap();
    }
    let mut someone_else = pending("other", 1_000);
    someone_else.user_id = u("u2");
    s.insert_pending(&someone_else).await.unwrap();
    assert_eq!(s.keep_newest_pending(&o("o1"), &u("u1"), 3).await.unwrap(), 5);
    for i in 0..8 {
        let kept = s.find_pending(&format!("h{i}")).await.unwrap().is_some();
        assert_eq!(kept, i >= 5, "h{i}");
    }
    assert!(
        s.find_pending("other").await.unwrap().is_some(),
        "another person's flow stays"
    );
    assert_eq!(s.keep_newest_pending(&o("o1"), &u("u1"), 3).await.unwrap(), 0);
}

/// One Slack account is linked to at most one ovice user of an org, whether a second person
/// connects it or someone relinks to it; the person who holds it can reconnect it, and another org
/// is another matter.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_slack_user_is_linked_to_one_ovice_user_per_org(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    assert_eq!(s.put_link(&link("alice")).await.unwrap(), PutLink::Stored);
    let mut impostor = link("mallory");
    impostor.slack_user_id = "U-alice".into();
    assert_eq!(s.put_link(&impostor).await.unwrap(), PutLink::SlackUserTaken);
    assert_eq!(s.get_link(&o("o1"), &u("mallory")).await.unwrap(), None);
    // Relinking an existing link onto a taken Slack user is refused too, and leaves it as it was.
    assert_eq!(s.put_link(&link("bob")).await.unwrap(), PutLink::Stored);
    let mut bob_moves = link("bob");
    bob_moves.slack_user_id = "U-alice".into();
    assert_eq!(s.put_link(&bob_moves).await.unwrap(), PutLink::SlackUserTaken);
    assert_eq!(s.get_link(&o("o1"), &u("bob")).await.unwrap(), Some(link("bob")));
    // Alice reconnecting her own account, and another org linking the same Slack user: fine.
    let mut again = link("alice");
    again.connected_at = t(20);
    assert_eq!(s.put_link(&again).await.unwrap(), PutLink::Stored);
    impostor.org_id = o("o2");
    assert_eq!(s.put_link(&impostor).await.unwrap(), PutLink::Stored);
}

/// Slack saying a person's token is gone: the link becomes NEEDS_RECONNECT with the reason and keeps
/// no token (so nothing re-seals or revokes it); a second report changes nothing. An uninstall finds
/// every link in the team, of every org.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_token_slack_revoked_is_forgotten_and_the_link_says_why(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    s.put_link(&link("u1")).await.unwrap();
    s.put_link(&link("u2")).await.unwrap();
    let mut elsewhere = link("u3");
    elsewhere.org_id = o("o2");
    s.put_link(&elsewhere).await.unwrap();
    let mut other_team = link("u4");
    other_team.slack_team_id = "T2".into();
    s.put_link(&other_team).await.unwrap();

    assert!(
        s.drop_token(&o("o1"), &u("u1"), "tokens_revoked", t(50))
            .await
            .unwrap()
    );
    assert!(
        !s.drop_token(&o("o1"), &u("u1"), "tokens_revoked", t(60))
            .await
            .unwrap()
    );
    assert!(
        !s.drop_token(&o("o1"), &u("nobody"), "tokens_revoked", t(60))
            .await
            .unwrap()
    );
    let dropped = s.get_link(&o("o1"), &u("u1")).await.unwrap().unwrap();
    assert_eq!(
        (
            dropped.state,
            dropped.state_reason.as_str(),
            dropped.token,
            dropped.updated_at
        ),
        (LinkState::NeedsReconnect, "tokens_revoked", None, t(50))
    );
    assert_eq!(dropped.email_digest, link("u1").email_digest);
    // Only links that still hold a token are re-sealed.
    let sealed: Vec<UserId> = s
        .sealed_tokens()
        .await
        .unwrap()
        .into_iter()
        .map(|(_, u, _)| u)
        .collect();
    assert_eq!(sealed, vec![u("u2"), u("u4"), u("u3")]);
    // A link already NEEDS_RECONNECT for another reason still loses its token.
    assert!(
        s.mark_needs_reconnect(&o("o1"), &u("u2"), "token_expired", t(70))
            .await
            .unwrap()
    );
    assert!(
        s.drop_token(&o("o1"), &u("u2"), "app_uninstalled", t(80))
            .await
            .unwrap()
    );

    let in_team: Vec<(OrgId, UserId)> = s
        .links_in_team(&"T1".into())
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.org_id, l.user_id))
        .collect();
    assert_eq!(
        in_team,
        vec![(o("o1"), u("u1")), (o("o1"), u("u2")), (o("o2"), u("u3"))]
    );
}

fn sealed(bytes: &[u8]) -> SealedToken {
    SealedToken {
        key_id: "k1".into(),
        ciphertext: bytes.to_vec(),
    }
}

fn rotation(refresh: &[u8], expires_at: i64, refresh_at: i64) -> crate::domain::LinkRotation {
    crate::domain::LinkRotation {
        refresh_token: sealed(refresh),
        expires_at: t(expires_at),
        refresh_at: t(refresh_at),
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn rotating_user_tokens_are_renewed_by_one_claim_and_only_if_unchanged(#[case] backend: Backend) {
    let (s, _g) = store(backend).await;
    let mut alice = link("alice");
    alice.rotation = Some(rotation(b"r1", 2_000, 1_000));
    s.put_link(&alice).await.unwrap();
    s.put_link(&link("bob")).await.unwrap();
    assert_eq!(
        s.get_link(&o("o1"), &u("alice")).await.unwrap(),
        Some(alice.clone())
    );
    assert!(s.due_refreshes(t(999), 10).await.unwrap().is_empty());
    assert_eq!(
        s.due_refreshes(t(1_000), 10).await.unwrap(),
        vec![(o("o1"), u("alice"))]
    );
    // One claim at a time; a claimed link is not due; a link that does not rotate is never claimed.
    assert!(
        s.claim_refresh(&o("o1"), &u("alice"), t(1_000), t(31_000))
            .await
            .unwrap()
    );
    assert!(
        !s.claim_refresh(&o("o1"), &u("alice"), t(1_001), t(31_001))
            .await
            .unwrap()
    );
    assert!(s.due_refreshes(t(1_001), 10).await.unwrap().is_empty());
    assert!(
        !s.claim_refresh(&o("o1"), &u("bob"), t(1_000), t(31_000))
            .await
            .unwrap()
    );
    // Only the claim's owner lets go of it.
    s.release_refresh(&o("o1"), &u("alice"), t(30_999)).await.unwrap();
    assert!(
        !s.claim_refresh(&o("o1"), &u("alice"), t(1_002), t(31_002))
            .await
            .unwrap()
    );
    s.release_refresh(&o("o1"), &u("alice"), t(31_000)).await.unwrap();
    assert!(
        s.claim_refresh(&o("o1"), &u("alice"), t(1_002), t(31_002))
            .await
            .unwrap()
    );
    // Stored only over the refresh token it spent; the claim goes with it.
    let next = rotation(b"r2", 50_000, 40_000);
    assert!(
        !s.store_refreshed(&o("o1"), &u("alice"), &sealed(b"other"), &sealed(b"t2"), &next)
            .await
            .unwrap()
    );
    assert!(
        s.store_refreshed(&o("o1"), &u("alice"), &sealed(b"r1"), &sealed(b"t2"), &next)
            .await
            .unwrap()
    );
    let stored = s.get_link(&o("o1"), &u("alice")).await.unwrap().unwrap();
    assert_eq!(stored.token, Some(sealed(b"t2")));
    assert_eq!(stored.rotation, Some(next));
    assert!(
        s.claim_refresh(&o("o1"), &u("alice"), t(1_003), t(31_003))
            .await
            .unwrap()
    );
    s.release_refresh(&o("o1"), &u("alice"), t(31_003)).await.unwrap();
    // A failed renewal is put off, never brought forward.
    s.postpone_refresh(&o("o1"), &u("alice"), t(90_000))
        .await
        .unwrap();
    s.postpone_refresh(&o("o1"), &u("alice"), t(60_000))
        .await
        .unwrap();
    assert!(s.due_refreshes(t(89_999), 10).await.unwrap().is_empty());
    assert_eq!(
        s.due_refreshes(t(90_000), 10).await.unwrap(),
        vec![(o("o1"), u("alice"))]
    );
    // A link that needs reconnecting is not renewed; a dropped token takes its refresh token along.
    s.mark_needs_reconnect(&o("o1"), &u("alice"), "token_revoked", t(2))
        .await
        .unwrap();
    assert!(s.due_refreshes(t(100_000), 10).await.unwrap().is_empty());
    assert!(
        s.drop_token(&o("o1"), &u("alice"), "tokens_revoked", t(3))
            .await
            .unwrap()
    );
    assert_eq!(
        s.get_link(&o("o1"), &u("alice")).await.unwrap().unwrap().rotation,
        None
    );
}
