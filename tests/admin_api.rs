//! The admin API for dead letters: authentication, filters, replay and discard.

use lapin::options::{QueueDeclareOptions, QueueDeleteOptions};
use matterhook_e2e::ingest::Pipeline;
use matterhook_store::dead_letters;
use serde_json::{json, Value};

#[tokio::test]
async fn support_staff_manage_dead_letters_over_http() {
    let p = Pipeline::start().await;
    let admin = p.user("support@example.com", true).await;
    let lawyer = p.user("lawyer@example.com", false).await;
    let queue = p.names.worker_queue("api-test");
    let channel = p.broker.create_channel().await.expect("channel");
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions::default(),
            Default::default(),
        )
        .await
        .expect("queue");
    {
        let mut conn = p.pool.get().await.expect("conn");
        for (event, error) in [
            ("updated", "Clio answered 503"),
            ("deleted", "record is locked"),
        ] {
            let letter = matterhook_test_support::dead_letter(
                &queue,
                "contact",
                event,
                p.connection_id,
                "attempts exhausted",
                error,
            );
            dead_letters::record(&mut conn, &letter)
                .await
                .expect("seed");
        }
    }

    let (api, handle) = p.start_api();
    let base = format!("{api}/admin/dead-letters");
    let http = reqwest::Client::new();

    assert_eq!(http.get(&base).send().await.expect("answer").status(), 401);
    assert_eq!(
        http.get(&base)
            .bearer_auth("mh_not-a-token")
            .send()
            .await
            .expect("answer")
            .status(),
        401
    );
    assert_eq!(
        http.get(&base)
            .bearer_auth(&lawyer)
            .send()
            .await
            .expect("answer")
            .status(),
        403
    );

    let listed: Value = http
        .get(format!("{base}?reason=locked"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let rows = listed["data"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    // A NUL (which PostgreSQL's text cannot hold) is the caller's mistake, named as such.
    let nul = http
        .get(format!("{base}?reason=lock%00ed"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("answer");
    assert_eq!(nul.status(), 400);
    let refused: Value = nul.json().await.expect("json");
    assert!(
        refused["error"].as_str().is_some_and(|e| e.contains("NUL")),
        "{refused}"
    );
    assert_eq!(rows[0]["event"], "deleted");
    let id = rows[0]["id"].as_i64().expect("id");
    let shown = http
        .get(format!("{base}/{id}"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("show");
    assert_eq!(shown.status(), 200);
    assert_eq!(
        http.get(format!("{base}/999999"))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("show")
            .status(),
        404
    );
    assert_eq!(
        http.get(format!("{base}?state=zombie"))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("bad")
            .status(),
        400
    );

    let bad = http
        .post(format!("{base}/replay"))
        .bearer_auth(&admin)
        .json(&json!({"filter": {"modle": "contact"}}))
        .send()
        .await
        .expect("bad");
    assert_eq!(
        bad.status(),
        400,
        "a misspelt filter is refused, not treated as 'everything'"
    );
    let dry: Value = http
        .post(format!("{base}/replay"))
        .bearer_auth(&admin)
        .json(&json!({"filter": {"model": "contact", "state": "dead"}, "dry_run": true}))
        .send()
        .await
        .expect("dry run")
        .json()
        .await
        .expect("json");
    assert_eq!(dry["matched"], 2);
    // The filter's state reads as in the list and the CLI: unknown is refused.
    let unknown = http
        .post(format!("{base}/replay"))
        .bearer_auth(&admin)
        .json(&json!({"filter": {"state": "zombie"}, "dry_run": true}))
        .send()
        .await
        .expect("answer");
    assert_eq!(unknown.status(), 400);

    // Two replays of one row at once: it is published once.
    let replay = || {
        http.post(format!("{base}/replay"))
            .bearer_auth(&admin)
            .json(&json!({"ids": [id]}))
            .send()
    };
    let (first, second) = tokio::join!(replay(), replay());
    let first: Value = first.expect("replay").json().await.expect("json");
    let second: Value = second.expect("replay").json().await.expect("json");
    let done = first["done"].as_u64().unwrap_or(9) + second["done"].as_u64().unwrap_or(9);
    let skipped = first["skipped"].as_u64().unwrap_or(9) + second["skipped"].as_u64().unwrap_or(9);
    assert_eq!((done, skipped), (1, 1), "{first} {second}");
    assert_eq!(
        p.queue_depth(&queue).await.expect("queue"),
        1,
        "replayed to the failed queue"
    );
    // One row is replayed now: a filter on the default state finds the other; with `again` it
    // widens to every state and finds both.
    let count = |again: bool| {
        http.post(format!("{base}/replay"))
            .bearer_auth(&admin)
            .json(&json!({"filter": {"model": "contact"}, "dry_run": true, "again": again}))
            .send()
    };
    let plain: Value = count(false)
        .await
        .expect("dry run")
        .json()
        .await
        .expect("json");
    let again: Value = count(true)
        .await
        .expect("dry run")
        .json()
        .await
        .expect("json");
    assert_eq!(
        (plain["matched"].clone(), again["matched"].clone()),
        (json!(1), json!(2))
    );

    let discarded: Value = http
        .post(format!("{base}/discard"))
        .bearer_auth(&admin)
        .json(&json!({"filter": {"state": "dead"}}))
        .send()
        .await
        .expect("discard")
        .json()
        .await
        .expect("json");
    assert_eq!(discarded["done"], 1);
    let mut conn = p.pool.get().await.expect("conn");
    let row = dead_letters::by_ids(&mut conn, &[id])
        .await
        .expect("row")
        .remove(0);
    assert_eq!(
        (row.state.as_str(), row.state_changed_by.as_deref()),
        ("replayed", Some("support@example.com"))
    );

    let _ = channel
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await;
    handle.stop(true).await;
    p.stop().await;
}
