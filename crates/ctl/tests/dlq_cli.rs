//! `matterhook dlq` as support staff use it.

use std::process::Command;

use lapin::options::{QueueDeclareOptions, QueueDeleteOptions};
use matterhook_store::dead_letters::{self, NewDeadLetter};
use matterhook_test_support::TestDb;

fn matterhook(args: &[&str], database_url: &str) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_matterhook"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("USER", "support-ann")
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn letter(queue: &str, event: &str, error: &str) -> NewDeadLetter {
    matterhook_test_support::dead_letter(queue, "matter", event, 7, "attempts exhausted", error)
}

#[tokio::test]
async fn support_can_find_inspect_discard_and_replay_dead_letters() {
    let db = TestDb::new().await.expect("database");
    let queue = format!(
        "mhtest-cli-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let pool = matterhook_store::connect_pool(db.url(), 2).expect("pool");
    let mut conn = pool.get().await.expect("conn");
    for (event, error) in [
        ("updated", "Clio answered 503"),
        ("matter_closed", "contact is locked"),
        ("updated", "Clio answered 503"),
    ] {
        dead_letters::record(&mut conn, &letter(&queue, event, error))
            .await
            .expect("seed");
    }
    let ids: Vec<i64> = dead_letters::list(&mut conn, &Default::default(), 0, 10)
        .await
        .expect("ids")
        .iter()
        .map(|r| r.id)
        .collect();

    let (ok, out, _) = matterhook(&["dlq", "list", "--reason", "LOCKED"], db.url());
    assert!(ok);
    assert!(
        out.contains("matter.matter_closed") && !out.contains("matter.updated"),
        "{out}"
    );
    let (ok, out, _) = matterhook(&["dlq", "list", "--limit", "2"], db.url());
    assert!(
        ok && out.contains(&format!("next page: --after {}", ids[1])),
        "{out}"
    );

    let (ok, out, _) = matterhook(&["dlq", "show", &ids[0].to_string()], db.url());
    assert!(
        ok && out.contains("\"reason\": \"attempts exhausted\"") && out.contains("\"envelope\""),
        "{out}"
    );

    let (ok, out, _) = matterhook(
        &[
            "dlq",
            "discard",
            "--filter",
            "--reason",
            "locked",
            "--dry-run",
        ],
        db.url(),
    );
    assert!(ok && out.contains("1 dead letter(s) selected"), "{out}");
    assert_eq!(
        dead_letters::count(
            &mut conn,
            &dead_letters::Filter {
                state: Some(matterhook_domain::DeadLetterState::Dead),
                ..Default::default()
            }
        )
        .await
        .expect("count"),
        3,
        "a dry run changes nothing"
    );
    let (ok, out, _) = matterhook(&["dlq", "discard", &ids[1].to_string()], db.url());
    assert!(ok && out.contains("discarded 1 of 1"), "{out}");

    // Replay the other two to their queue, which must exist (a replay never goes elsewhere).
    let broker =
        lapin::Connection::connect(&matterhook_test_support::amqp_url(), Default::default())
            .await
            .expect("broker");
    let channel = broker.create_channel().await.expect("channel");
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions::default(),
            Default::default(),
        )
        .await
        .expect("queue");
    let (ok, out, err) = matterhook(&["dlq", "replay", "--filter", "--queue", &queue], db.url());
    assert!(ok, "{err}");
    assert!(
        out.contains("2 dead letter(s) selected") && out.contains("replayed 2 of 2"),
        "{out}"
    );
    let waiting = channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            Default::default(),
        )
        .await
        .expect("queue");
    assert_eq!(waiting.message_count(), 2);
    let (ok, out, _) = matterhook(&["dlq", "replay", &ids[0].to_string()], db.url());
    assert!(
        ok && out.contains("replayed 0 of 1 (skipped 1"),
        "replayed once unless --again: {out}"
    );

    let row = dead_letters::by_ids(&mut conn, &[ids[0]])
        .await
        .expect("row")
        .remove(0);
    assert_eq!(
        (row.state.as_str(), row.state_changed_by.as_deref()),
        ("replayed", Some("support-ann"))
    );
    let _ = channel
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await;
}
