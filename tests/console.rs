//! The support console in a real browser (headless Chromium over WebDriver): a poison event is
//! dead-lettered by the real consumer runtime, found by its reason, inspected, replayed after the
//! fix and applied once; a bulk replay shows its dry-run count before anything happens; and
//! requests without the session or without its CSRF token change nothing. Screenshots of every
//! page land in `target/console/`.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use diesel_async::AsyncPgConnection;
use matterhook_bus::{Envelope, Handler, HandlerError};
use matterhook_domain::DeadLetterState;
use matterhook_e2e::{
    browser::Browser,
    ingest::{eventually, Pipeline},
};
use matterhook_store::{dead_letters, journal};
use matterhook_workers::journal::Journal;
use serde_json::json;

/// Records contact events in the journal, but refuses them until fixed: a poison event.
struct LockedContacts {
    fixed: Arc<AtomicBool>,
}

impl Handler for LockedContacts {
    const NAME: &'static str = "locked-contacts";
    fn routing_keys(&self) -> Vec<String> {
        matterhook_bus::clio_bindings(matterhook_domain::Model::Contact)
    }
    async fn handle(
        &self,
        envelope: &Envelope,
        conn: &mut AsyncPgConnection,
    ) -> Result<(), HandlerError> {
        if self.fixed.load(Ordering::SeqCst) {
            Journal.handle(envelope, conn).await
        } else {
            Err(HandlerError::transient(std::io::Error::other(
                "Clio refused the write: contact is locked by another user",
            )))
        }
    }
}

async fn journal_count(p: &Pipeline) -> i64 {
    let mut conn = p.pool.get().await.expect("conn");
    journal::count(&mut conn).await.expect("count")
}

async fn dead_rows(p: &Pipeline, text: &str) -> Vec<dead_letters::DeadLetter> {
    let mut conn = p.pool.get().await.expect("conn");
    let filter = dead_letters::Filter {
        state: None,
        text: Some(text.into()),
        ..Default::default()
    };
    dead_letters::list(&mut conn, &filter, 0, 100)
        .await
        .expect("list")
}

fn states(rows: &[dead_letters::DeadLetter]) -> Vec<DeadLetterState> {
    rows.iter().map(|r| r.state).collect()
}

#[tokio::test]
async fn support_find_inspect_and_replay_dead_letters_in_the_browser() {
    let mut p = Pipeline::start().await;
    let admin_token = p.user("support@example.com", true).await;
    let lawyer_token = p.user("lawyer@example.com", false).await;
    let sub = p.subscribe("contact", &["updated"], "id,name").await;
    let fixed = Arc::new(AtomicBool::new(false));
    let worker = p
        .start_worker(
            LockedContacts {
                fixed: fixed.clone(),
            },
            2,
        )
        .await;
    let queue = p.names.worker_queue(LockedContacts::NAME);
    // The journal's queue, with no worker on it: the four events wait there.
    p.declare_queue_of(&Journal).await;
    // Noise the reason filter must leave out.
    {
        let mut conn = p.pool.get().await.expect("conn");
        for event in ["updated", "deleted"] {
            let letter = matterhook_test_support::dead_letter(
                &queue,
                "contact",
                event,
                p.connection_id,
                "attempts exhausted",
                "Clio answered 503",
            );
            dead_letters::record(&mut conn, &letter)
                .await
                .expect("seed");
        }
    }
    for contact in [4242, 4243, 4244, 4245] {
        let body = json!({"data": {"id": contact, "etag": "\"v1\""},
                          "meta": {"event": "updated", "webhook_id": sub.webhook_id}});
        assert_eq!(p.deliver(&sub, &body).await.status(), 200);
    }
    let poisoned = eventually(|| async {
        let rows = dead_rows(&p, "contact is locked").await;
        (rows.len() == 4).then_some(rows)
    })
    .await
    .expect("four poison events dead-lettered");
    // The consumers' progress, for the queues page's oldest-message estimate.
    let taken = eventually(|| async {
        let mut conn = p.pool.get().await.ok()?;
        let all = matterhook_store::queue_progress::all(&mut conn)
            .await
            .ok()?;
        all.into_iter().find(|q| q.queue == queue)
    })
    .await
    .expect("the consumer recorded what it took");
    assert!(taken.last_sent_at <= taken.last_taken_at);
    let first = poisoned
        .iter()
        .find(|r| r.envelope.to_string().contains("4242"))
        .expect("contact 4242's")
        .id;
    let (api, handle) = p.start_api();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    // Without a session: pages send to the login, actions are refused and change nothing.
    let page = http
        .get(format!("{api}/console/dead-letters"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/console/login");
    let refused = http
        .post(format!("{api}/console/dead-letters/{first}/replay"))
        .form(&[("csrf", "guess")])
        .send()
        .await
        .expect("action");
    assert_eq!(refused.status(), 401);
    // A user who is not an admin cannot sign in.
    let login_page = http
        .get(format!("{api}/console/login"))
        .send()
        .await
        .expect("login page");
    let nonce_cookie = login_page
        .cookies()
        .find(|c| c.name() == "matterhook_console_login")
        .expect("login cookie")
        .value()
        .to_owned();
    let as_lawyer = http
        .post(format!("{api}/console/login"))
        .header("cookie", format!("matterhook_console_login={nonce_cookie}"))
        .form(&[
            ("login_csrf", nonce_cookie.as_str()),
            ("token", &lawyer_token),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(as_lawyer.status(), 401);
    assert!(as_lawyer
        .cookies()
        .all(|c| c.name() != "matterhook_console"));

    // Sign in in the browser.
    let b = Browser::start().await;
    b.client
        .goto(&format!("{api}/console"))
        .await
        .expect("goto");
    b.wait_for_path("/console/login").await;
    b.screenshot("login").await;
    b.fill("#token", &admin_token).await;
    b.click("button[type=submit]").await;
    b.wait_for_path("/console/dead-letters").await;
    b.screenshot("dead-letters").await;
    assert_eq!(
        b.count("#dead-letters input[name=id]").await,
        6,
        "every dead letter, newest first"
    );
    let session = b
        .cookie("matterhook_console")
        .await
        .expect("session cookie");

    // The session without its CSRF token, or with another's, changes nothing.
    for csrf in ["", "not-the-token"] {
        let forged = http
            .post(format!("{api}/console/dead-letters/{first}/replay"))
            .header("cookie", format!("matterhook_console={session}"))
            .form(&[("csrf", csrf)])
            .send()
            .await
            .expect("forged");
        assert_eq!(forged.status(), 403, "csrf {csrf:?}");
    }
    let forged_bulk = http
        .post(format!("{api}/console/dead-letters/bulk"))
        .header("cookie", format!("matterhook_console={session}"))
        .form(&[("csrf", "x"), ("action", "discard"), ("expected", "4")])
        .send()
        .await
        .expect("forged bulk");
    assert_eq!(forged_bulk.status(), 403);
    assert_eq!(
        states(&dead_rows(&p, "").await),
        vec![DeadLetterState::Dead; 6],
        "no forged request changed a row"
    );

    // Found by its reason.
    b.fill("input[name=reason]", "contact is locked").await;
    b.click("form.filters button[type=submit]").await;
    b.wait_for_path_containing("reason=contact+is+locked").await;
    assert_eq!(b.count("#dead-letters input[name=id]").await, 4);
    b.screenshot("dead-letters-filtered").await;

    // Inspected.
    b.click(&format!(
        "#dead-letters a[href='/console/dead-letters/{first}']"
    ))
    .await;
    b.wait_for_path(&format!("/console/dead-letters/{first}"))
        .await;
    assert_eq!(b.text("#state").await, "dead");
    assert!(b.text("#error").await.contains("contact is locked"));
    assert!(b.text("#payload").await.contains("4242"));
    assert!(b.text("#headers").await.contains("x-mh-sent-at"));
    b.screenshot("dead-letter").await;

    // Replayed after the fix, and applied once.
    fixed.store(true, Ordering::SeqCst);
    b.click("#replay").await;
    b.wait_for_path_containing("done=replay").await;
    assert_eq!(b.text("#state").await, "replayed");
    assert!(b.text("p.notice").await.contains("Replayed 1"));
    assert!(b.text("#history").await.contains("support@example.com"));
    b.screenshot("dead-letter-replayed").await;
    let applied = eventually(|| async { (journal_count(&p).await == 1).then_some(()) }).await;
    assert!(applied.is_some(), "the worker applied the replayed event");

    // A bulk replay of the filter shows its dry-run count first, and does nothing until
    // confirmed.
    b.client
        .goto(&format!("{api}/console/dead-letters?reason=locked"))
        .await
        .expect("goto");
    assert_eq!(b.count("#dead-letters input[name=id]").await, 3);
    b.click("#bulk-replay").await;
    b.wait_for_path_containing("/console/dead-letters/bulk?")
        .await;
    assert_eq!(b.text("#matched").await, "3");
    b.screenshot("bulk-replay").await;
    let still = dead_rows(&p, "contact is locked").await;
    assert_eq!(
        still
            .iter()
            .filter(|r| r.state == DeadLetterState::Dead)
            .count(),
        3,
        "the dry run changed nothing"
    );
    // What the confirmation form carries, to send it again below.
    let mut confirmation = vec![("csrf".to_owned(), String::new())];
    for name in ["csrf", "action", "expected", "up_to_id", "nonce", "reason"] {
        let value = b
            .client
            .find(fantoccini::Locator::Css(&format!(
                "form input[name={name}]"
            )))
            .await
            .expect("field")
            .attr("value")
            .await
            .expect("value")
            .unwrap_or_default();
        confirmation.push((name.to_owned(), value));
    }
    confirmation.remove(0);
    // A poison event dead-lettered after the dry run is not part of what was confirmed.
    let late = {
        let mut conn = p.pool.get().await.expect("conn");
        let letter = matterhook_test_support::dead_letter(
            &queue,
            "contact",
            "updated",
            p.connection_id,
            "attempts exhausted",
            "Clio refused the write: contact is locked by another user (late)",
        );
        dead_letters::record_returning_id(&mut conn, &letter)
            .await
            .expect("late one")
    };
    b.click("#confirm").await;
    b.wait_for_path_containing("done=bulk-replay").await;
    assert!(b.text("p.notice").await.contains("Replaying the 3"));
    let all_applied = eventually(|| async { (journal_count(&p).await == 4).then_some(()) }).await;
    assert!(
        all_applied.is_some(),
        "the bulk replay applied the other three"
    );
    let replayed = eventually(|| async {
        let rows = dead_rows(&p, "contact is locked").await;
        let (confirmed, after): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.id != late);
        (confirmed
            .iter()
            .all(|r| r.state == DeadLetterState::Replayed)
            && after.iter().all(|r| r.state == DeadLetterState::Dead))
        .then_some(confirmed)
    })
    .await
    .expect("the four replayed, the late one left dead");
    assert_eq!(replayed.len(), 4);
    assert!(replayed
        .iter()
        .all(|r| r.replays == 1 && r.state_changed_by.as_deref() == Some("support@example.com")));
    // The same confirmation sent again (a double click, a resubmitted form) starts nothing.
    let twice = http
        .post(format!("{api}/console/dead-letters/bulk"))
        .header("cookie", format!("matterhook_console={session}"))
        .form(&confirmation)
        .send()
        .await
        .expect("again");
    assert_eq!(twice.status(), 409);
    assert!(twice.text().await.expect("page").contains("already used"));
    let noise = dead_rows(&p, "Clio answered 503").await;
    assert_eq!(
        states(&noise),
        vec![DeadLetterState::Dead; 2],
        "outside the filter"
    );

    // Connections and queues.
    b.click("header a[href='/console/connections']").await;
    b.wait_for_path("/console/connections").await;
    assert!(b
        .text(&format!("#connection-{}", p.connection_id))
        .await
        .contains("Hartley & Finch LLP"));
    b.screenshot("connections").await;
    b.click("header a[href='/console/queues']").await;
    b.wait_for_path("/console/queues").await;
    assert_eq!(
        b.text("#queue-journal td.depth").await,
        "4",
        "the journal's waiting events"
    );
    assert_eq!(
        b.text("#queue-journal td:nth-child(4)").await,
        "0",
        "no consumer"
    );
    b.screenshot("queues").await;

    // Signing out ends the session: its cookie no longer acts.
    b.click("header form button").await;
    b.wait_for_path("/console/login").await;
    let after = http
        .get(format!("{api}/console/dead-letters"))
        .header("cookie", format!("matterhook_console={session}"))
        .send()
        .await
        .expect("after logout");
    assert_eq!(after.status(), 303);
    b.close().await;

    p.stop_when_idle(worker, || LockedContacts {
        fixed: fixed.clone(),
    })
    .await;
    assert_eq!(journal_count(&p).await, 4, "each event applied once");
    handle.stop(true).await;
    p.stop().await;
}

/// Every dead letter once, newest failure first, following the list's "Older" links: none
/// skipped or repeated where failures share a timestamp, and the filter kept on every page.
#[tokio::test]
async fn the_list_pages_newest_failure_first_without_gaps_or_repeats() {
    let p = Pipeline::start().await;
    let admin = p.user("support@example.com", true).await;
    let queue = p.names.worker_queue("paging");
    let base = chrono::Utc::now() - chrono::Duration::hours(1);
    let mut expected = Vec::new();
    {
        let mut conn = p.pool.get().await.expect("conn");
        for i in 0..130_i64 {
            let mut letter = matterhook_test_support::dead_letter(
                &queue,
                "matter",
                "updated",
                p.connection_id,
                "attempts exhausted",
                if i % 13 == 0 {
                    "other"
                } else {
                    "Clio answered 503"
                },
            );
            // Out of id order, and three at a time at one instant.
            letter.last_failed_at = base + chrono::Duration::seconds((i * 7) % 40 / 3);
            let id = dead_letters::record_returning_id(&mut conn, &letter)
                .await
                .expect("seed");
            if i % 13 != 0 {
                expected.push((letter.last_failed_at, id));
            }
        }
    }
    expected.sort_by(|a, b| b.cmp(a));
    let expected: Vec<i64> = expected.into_iter().map(|(_, id)| id).collect();
    let (api, handle) = p.start_api();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client");
    matterhook_e2e::browser::sign_in(&http, &api, &admin).await;
    let mut seen = Vec::new();
    let mut next = Some(format!("{api}/console/dead-letters?reason=503"));
    let mut pages = 0;
    while let Some(url) = next.take() {
        let html = http
            .get(&url)
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("html");
        seen.extend(row_ids(&html));
        pages += 1;
        next = html
            .split("id=\"older\" href=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(|href| format!("{api}{}", href.replace("&amp;", "&")));
        if let Some(n) = &next {
            assert!(n.contains("reason=503"), "the filter is kept: {n}");
        }
        assert!(pages <= 3, "120 rows are three pages of 50");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected);
    // A cursor that names no row is a bad link (400), not an empty page.
    let nowhere = http
        .get(format!("{api}/console/dead-letters?before=999999"))
        .send()
        .await
        .expect("page");
    assert_eq!(nowhere.status(), 400);
    // A new token for the admin (the old one leaked, say) ends what the old one signed in to.
    {
        let mut conn = p.pool.get().await.expect("conn");
        let (_, hash) = matterhook_crypto::issue_api_token();
        matterhook_store::users::upsert_with_token(&mut conn, "support@example.com", &hash, true)
            .await
            .expect("new token");
    }
    let ended = http
        .get(format!("{api}/console/dead-letters"))
        .send()
        .await
        .expect("page");
    assert_eq!(ended.status(), 303, "signed out");
    handle.stop(true).await;
    p.stop().await;
}

/// The ids of the list's rows, in page order (their checkboxes' values).
fn row_ids(html: &str) -> Vec<i64> {
    html.split("name=\"id\" value=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next()?.parse().ok())
        .collect()
}
