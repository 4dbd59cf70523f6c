//! Connections end to end: the OAuth round trip through our API and the simulator, tokens
//! refreshed once however many callers, needs_reauth and reconnect with parked work, disconnect.

use std::time::Duration;

use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures::future::join_all;
use matterhook_bus::{Envelope, Handler, HandlerError};
use matterhook_connections::{Connections, TokenError};
use matterhook_e2e::{
    ingest::eventually,
    stack::{
        a_change_reaches_the_receiver, hooks_at, live_subscriptions, sweep_requests, Stack, DAY,
    },
};
use matterhook_store::{journal, schema, subscriptions};

#[tokio::test]
async fn the_oauth_round_trip_connects_subscribes_and_deliveries_arrive() {
    let mut s = Stack::start().await;
    // Deliveries are accepted only when a queue takes them.
    let worker =
        s.p.start_worker(matterhook_workers::journal::Journal, 3)
            .await;
    let bob = s.user("bob@hartleyfinch.example").await;
    let (_, answer) = s
        .connect_as(&bob, s.p.world.firm.attorney_id, "allow")
        .await;
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = answer.json().await.expect("json");
    assert_eq!(body["resumed"], false);
    assert_eq!(body["account_name"], "Hartley & Finch LLP");
    assert_eq!(body["subscription_errors"], serde_json::json!([]));
    let id = body["connection_id"].as_i64().expect("id");

    // Tokens are sealed: no stored byte string contains any token Clio issued.
    let issued = s.p.world.sim.issued_tokens();
    assert!(
        issued.len() >= 2,
        "an access and a refresh token were issued"
    );
    let mut conn = s.p.pool.get().await.expect("conn");
    let (access, refresh): (Option<Vec<u8>>, Option<Vec<u8>>) = schema::connections::table
        .find(id)
        .select((
            schema::connections::access_token_enc,
            schema::connections::refresh_token_enc,
        ))
        .first(&mut conn)
        .await
        .expect("row");
    let (access, refresh) = (access.expect("sealed"), refresh.expect("sealed"));
    for token in &issued {
        assert!(!access.windows(token.len()).any(|w| w == token.as_bytes()));
        assert!(!refresh.windows(token.len()).any(|w| w == token.as_bytes()));
    }
    drop(conn);

    // One subscription per model, confirmed by the handshake, at the receiver.
    s.wait_enabled(id).await;
    let live = live_subscriptions(&s, id).await;
    let mut models: Vec<&str> = live.iter().map(|l| l.model.as_str()).collect();
    models.sort_unstable();
    assert_eq!(models, ["bill", "contact", "matter"]);
    assert!(
        live.iter()
            .all(|l| l.status == matterhook_domain::SubscriptionStatus::Active),
        "{live:?}"
    );
    let hooks = hooks_at(&s, &s.p.receiver_url);
    assert_eq!(hooks.len(), 3);
    assert!(hooks.iter().all(|h| h.status == "enabled"));
    assert!(hooks
        .iter()
        .all(|h| h.expires_at > s.p.world.sim.now() + chrono::Duration::days(29)));
    a_change_reaches_the_receiver(&s, &s.p.receiver_url).await;

    let listed = s.api_get(&bob, "/api/connections").await;
    assert_eq!(listed[0]["id"], id);
    assert_eq!(listed[0]["status"], "connected");
    assert_eq!(listed[0]["account_name"], "Hartley & Finch LLP");

    // Another of our users connects the same Clio firm: a connection of their own, no conflict.
    let carol = s.user("carol@hartleyfinch.example").await;
    let other = s.connect(&carol).await;
    assert_ne!(other, id);
    assert_eq!(
        s.api_get(&bob, "/api/connections")
            .await
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(live_subscriptions(&s, other).await.len(), 3);
    assert_eq!(s.status(id).await, "connected");

    // The API describes itself.
    let doc: serde_json::Value = reqwest::get(format!("{}/openapi.json", s.api_url))
        .await
        .expect("doc")
        .json()
        .await
        .expect("json");
    for path in [
        "/connect/clio",
        "/oauth/clio/callback",
        "/api/connections/{id}/disconnect",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    worker.stop().await.expect("worker stops");
    s.stop().await;
}

#[tokio::test]
async fn denial_and_bad_reused_or_expired_states_store_nothing() {
    let s = Stack::start().await;
    let bob = s.user("bob@hartleyfinch.example").await;
    let attorney = s.p.world.firm.attorney_id;

    let (_, denied) = s.connect_as(&bob, attorney, "deny").await;
    assert_eq!(denied.status(), 403);
    let body: serde_json::Value = denied.json().await.expect("json");
    assert_eq!(body["code"], "access_denied");
    assert_eq!(s.connections_of(&bob).await, 0);

    // A state we never issued.
    let authorize = s.start_connect(&bob).await;
    let callback = matterhook_e2e::approve(&authorize, attorney, "allow").await;
    let mut forged = callback.clone();
    let code = matterhook_e2e::query_value(&callback, "code").expect("code");
    forged
        .query_pairs_mut()
        .clear()
        .append_pair("code", &code)
        .append_pair("state", "not-a-state-we-issued");
    let answer = s.follow(&forged).await;
    assert_eq!(answer.status(), 400);
    assert_eq!(
        answer.json::<serde_json::Value>().await.expect("json")["code"],
        "unknown_state"
    );
    assert_eq!(s.connections_of(&bob).await, 0);

    // The genuine callback works once; replayed, its state is refused.
    assert_eq!(s.follow(&callback).await.status(), 200);
    let again = s.follow(&callback).await;
    assert_eq!(again.status(), 400);
    assert_eq!(
        again.json::<serde_json::Value>().await.expect("json")["code"],
        "state_used"
    );
    assert_eq!(s.connections_of(&bob).await, 1);

    // A state older than its ten minutes.
    let carol = s.user("carol@hartleyfinch.example").await;
    let authorize = s.start_connect(&carol).await;
    let callback = matterhook_e2e::approve(&authorize, attorney, "allow").await;
    s.p.world.sim.advance_clock(Duration::from_secs(11 * 60));
    let late = s.follow(&callback).await;
    assert_eq!(late.status(), 400);
    assert_eq!(
        late.json::<serde_json::Value>().await.expect("json")["code"],
        "state_expired"
    );
    assert_eq!(s.connections_of(&carol).await, 0);

    // No bearer token, no connect.
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("{}/connect/clio", s.api_url))
        .send()
        .await
        .expect("answer");
    assert_eq!(anonymous.status(), 401);
    s.stop().await;
}

/// A browser's GET of the callback (what Clio's redirect makes), with `client`'s cookies.
async fn browse(
    client: &reqwest::Client,
    url: &url::Url,
) -> (u16, reqwest::header::HeaderMap, String) {
    let answer = client
        .get(url.as_str())
        .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .expect("callback answers");
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    (status, headers, answer.text().await.expect("page"))
}

/// A person connects in a popup: the callback ends on a page that tells the app's window (at the
/// configured origin only) and closes itself. A consent link followed in another browser (sent
/// to someone, say) connects nothing and says why; so does an expired one.
#[tokio::test]
async fn the_connect_flow_ends_on_a_page_bound_to_the_browser_that_started_it() {
    let s = Stack::start().await;
    let bob = s.user("bob@hartleyfinch.example").await;
    let attorney = s.p.world.firm.attorney_id;

    // Another browser follows Bob's consent link: refused, nothing stored, and his link is spent.
    let authorize = s.start_connect(&bob).await;
    let callback = matterhook_e2e::approve(&authorize, attorney, "allow").await;
    let elsewhere = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let (status, _, page) = browse(&elsewhere, &callback).await;
    assert_eq!(status, 400);
    assert!(page.contains("Clio was not connected"), "{page}");
    assert!(page.contains("started in another browser"), "{page}");
    assert!(page.contains(r#""reason":"other_browser""#), "{page}");
    assert_eq!(s.connections_of(&bob).await, 0);
    let (status, _, page) = browse(&s.http, &callback).await;
    assert_eq!(status, 400, "the link was spent by the other browser");
    assert!(page.contains("already used"), "{page}");
    // An API client without the cookie is told the same in JSON.
    let authorize = s.start_connect(&bob).await;
    let callback = matterhook_e2e::approve(&authorize, attorney, "allow").await;
    let answer = elsewhere
        .get(callback.as_str())
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 400);
    assert_eq!(
        answer.json::<serde_json::Value>().await.expect("json")["code"],
        "other_browser"
    );
    assert_eq!(s.connections_of(&bob).await, 0);

    // In his own browser: connected, the app's window told, the popup closed.
    let authorize = s.start_connect(&bob).await;
    let callback = matterhook_e2e::approve(&authorize, attorney, "allow").await;
    let (status, headers, page) = browse(&s.http, &callback).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(s.connections_of(&bob).await, 1);
    assert!(
        page.contains("Hartley &amp; Finch LLP is connected"),
        "{page}"
    );
    let target = format!(
        r#", "{}"); window.close();"#,
        matterhook_e2e::stack::APP_ORIGIN
    );
    assert!(
        page.contains(&target),
        "posted to the app's origin only: {page}"
    );
    assert!(page.contains(r#""outcome":"connected""#), "{page}");
    assert!(!page.contains(r#""*""#), "never to any origin: {page}");
    let csp = headers["content-security-policy"].to_str().expect("csp");
    assert!(
        csp.starts_with("default-src 'none'; script-src 'nonce-"),
        "{csp}"
    );
    let cleared = headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.starts_with("matterhook_connect=;") && c.contains("Max-Age=0"));
    assert!(cleared, "the connect's cookie is spent: {headers:?}");

    // A link older than its ten minutes, in the right browser: a reason a person can act on.
    let carol = s.user("carol@hartleyfinch.example").await;
    let authorize = s.start_connect(&carol).await;
    let callback = matterhook_e2e::approve(&authorize, attorney, "allow").await;
    s.p.world.sim.advance_clock(Duration::from_secs(11 * 60));
    let (status, _, page) = browse(&s.http, &callback).await;
    assert_eq!(status, 400);
    assert!(page.contains("This connect link expired"), "{page}");
    assert_eq!(s.connections_of(&carol).await, 0);
    s.stop().await;
}

/// Ten calls from each process at once; every one succeeds. Returns how many refreshes Clio saw.
async fn refreshes_while_all_call(s: &Stack, processes: &[Connections], id: i64) -> usize {
    let before = s.p.world.sim.access_tokens_issued();
    let calls = processes
        .iter()
        .flat_map(|c| (0..10).map(move |_| c.call(id, |api| async move { api.who_am_i().await })));
    let answers = join_all(calls).await;
    assert!(
        answers.iter().all(Result::is_ok),
        "{:?}",
        answers.iter().find(|a| a.is_err())
    );
    s.p.world.sim.access_tokens_issued() - before
}

#[tokio::test]
async fn many_callers_in_several_processes_cause_exactly_one_refresh() {
    let s = Stack::start().await;
    let bob = s.user("bob@hartleyfinch.example").await;
    let id = s.connect(&bob).await;

    // Proactive: the token is about to expire by everyone's clock.
    s.p.world
        .sim
        .advance_clock(30 * DAY - Duration::from_secs(600));
    let processes: Vec<Connections> = (0..3)
        .map(|_| s.another_process(&s.p.receiver_url))
        .collect();
    assert_eq!(refreshes_while_all_call(&s, &processes, id).await, 1);

    // After a 401: the token expired in Clio while these processes' clocks say it is fresh.
    s.p.world.sim.advance_clock(31 * DAY);
    let processes: Vec<Connections> = (0..3).map(|_| s.wall_clock_process()).collect();
    assert_eq!(refreshes_while_all_call(&s, &processes, id).await, 1);
    s.stop().await;
}

#[tokio::test]
async fn a_refresh_without_a_new_refresh_token_keeps_the_old_one() {
    let s = Stack::start().await;
    let bob = s.user("bob@hartleyfinch.example").await;
    let id = s.connect(&bob).await;
    s.p.world
        .sim
        .configure(|c| c.omit_refresh_token_on_refresh = true);
    let before = s.p.world.sim.access_tokens_issued();
    // Twice past the token's lifetime: the second refresh works only with the kept refresh token.
    for _ in 0..2 {
        s.p.world.sim.advance_clock(30 * DAY);
        s.connections
            .call(id, |api| async move { api.who_am_i().await })
            .await
            .expect("refreshed and called");
    }
    assert_eq!(s.p.world.sim.access_tokens_issued() - before, 2);
    assert_eq!(s.status(id).await, "connected");
    s.stop().await;
}

/// A worker that needs the event's connection to have a token: its effect is a journal row.
struct NeedsClio {
    connections: Connections,
}

impl Handler for NeedsClio {
    const NAME: &'static str = "needs_clio";

    fn routing_keys(&self) -> Vec<String> {
        matterhook_bus::clio_bindings(matterhook_domain::Model::Contact)
    }

    async fn handle(
        &self,
        envelope: &Envelope,
        conn: &mut AsyncPgConnection,
    ) -> Result<(), HandlerError> {
        match self.connections.api(envelope.connection_id.get()).await {
            Ok(_) => {}
            Err(e @ (TokenError::NeedsReauth(_) | TokenError::Disconnected(_))) => {
                return Err(HandlerError::parked(e))
            }
            Err(e) => return Err(HandlerError::transient(e)),
        }
        matterhook_workers::journal::Journal
            .handle(envelope, conn)
            .await
    }
}

async fn journal_count(s: &Stack) -> i64 {
    let mut conn = s.p.pool.get().await.expect("conn");
    journal::count(&mut conn).await.expect("count")
}

#[tokio::test]
async fn a_revoked_grant_parks_work_until_the_user_reconnects_the_same_connection() {
    let mut s = Stack::start().await;
    let bob = s.user("bob@hartleyfinch.example").await;
    let id = s.connect(&bob).await;
    let worker =
        s.p.start_worker(
            NeedsClio {
                connections: s.another_process(&s.p.receiver_url),
            },
            3,
        )
        .await;
    a_change_reaches_the_receiver(&s, &s.p.receiver_url).await;
    assert_eq!(
        eventually(|| async { (journal_count(&s).await == 1).then_some(()) }).await,
        Some(())
    );

    // The user removes our app in Clio; the token lapses; the refresh is refused.
    s.p.world.sim.revoke_grants_of(s.p.world.firm.attorney_id);
    // Within the token's last hour (refreshed ahead of expiry), before the webhooks expire.
    s.p.world
        .sim
        .advance_clock(30 * DAY - Duration::from_secs(1800));
    let refused = s.connections.api(id).await.err().expect("no token");
    assert!(matches!(refused, TokenError::NeedsReauth(_)), "{refused:?}");
    assert_eq!(s.status(id).await, "needs_reauth");
    let notes = s.api_get(&bob, "/api/notifications").await;
    assert_eq!(notes[0]["kind"], "needs_reauth");
    assert_eq!(notes[0]["connection_id"], id);
    assert!(notes[0]["read_at"].is_null());
    assert_eq!(
        s.api_get(&bob, "/api/connections").await[0]["status"],
        "needs_reauth"
    );

    // Work that arrives meanwhile is parked, not lost. (The webhooks still deliver: Clio does not
    // tie them to the grant.)
    a_change_reaches_the_receiver(&s, &s.p.receiver_url).await;
    let parked = eventually(|| async {
        let mut conn = s.p.pool.get().await.expect("conn");
        let n: i64 = schema::dead_letters::table
            .filter(schema::dead_letters::connection_id.eq(id))
            .filter(schema::dead_letters::reason.eq(matterhook_bus::retry::PARKED_REASON))
            .count()
            .get_result(&mut conn)
            .await
            .expect("count");
        (n == 1).then_some(n)
    })
    .await;
    assert_eq!(parked, Some(1), "the event is parked");
    assert_eq!(journal_count(&s).await, 1);

    // Reconnecting resumes the same connection, with its history, and sends the parked work back.
    let (_, answer) = s
        .connect_as(&bob, s.p.world.firm.attorney_id, "allow")
        .await;
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = answer.json().await.expect("json");
    assert_eq!(body["connection_id"], id);
    assert_eq!(body["resumed"], true);
    assert_eq!(body["unparked"], 1);
    assert_eq!(s.status(id).await, "connected");
    assert_eq!(
        eventually(|| async { (journal_count(&s).await == 2).then_some(()) }).await,
        Some(()),
        "the parked event was applied once the connection was back"
    );
    s.connections
        .call(id, |api| async move { api.who_am_i().await })
        .await
        .expect("the same connection is usable again");
    let notes = s.api_get(&bob, "/api/notifications").await;
    assert!(
        !notes[0]["read_at"].is_null(),
        "the notification is resolved"
    );
    let sweeps = sweep_requests(&s, id).await;
    assert_eq!(
        sweeps.len(),
        3,
        "what changed meanwhile is swept: {sweeps:?}"
    );
    worker.stop().await.expect("worker stops");
    s.stop().await;
}

#[tokio::test]
async fn disconnect_revokes_deletes_the_webhooks_and_keeps_the_data() {
    let (s, worker, bob, id) = Stack::connected().await;
    a_change_reaches_the_receiver(&s, &s.p.receiver_url).await;
    assert_eq!(
        eventually(|| async { (journal_count(&s).await == 1).then_some(()) }).await,
        Some(())
    );
    let authorized = s.connections.api(id).await.expect("token");
    let tokens_before = live_subscriptions(&s, id).await;

    let mallory = s.user("mallory@example.com").await;
    let (status, _) = s
        .api_post(&mallory, &format!("/api/connections/{id}/disconnect"))
        .await;
    assert_eq!(status, 404, "someone else's connection is not found");
    assert_eq!(s.status(id).await, "connected");

    let (status, body) = s
        .api_post(&bob, &format!("/api/connections/{id}/disconnect"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["webhooks_deleted"], 3);
    assert_eq!(body["revoked"], true);
    assert_eq!(s.status(id).await, "disconnected");
    assert!(
        hooks_at(&s, &s.p.receiver_url).is_empty(),
        "its Clio webhooks are gone"
    );
    let revoked = authorized
        .api
        .who_am_i()
        .await
        .expect_err("the old token is revoked");
    assert!(
        matches!(revoked, matterhook_clio::ClioError::Unauthorized { .. }),
        "{revoked:?}"
    );
    assert!(matches!(
        s.connections.api(id).await,
        Err(TokenError::Disconnected(_))
    ));

    // Kept: the connection, its subscriptions (deleted, with why), its history.
    assert_eq!(journal_count(&s).await, 1);
    let mut conn = s.p.pool.get().await.expect("conn");
    let all = subscriptions::list(&mut conn, Some(id), true)
        .await
        .expect("list");
    drop(conn);
    assert_eq!(all.len(), tokens_before.len());
    assert!(all.iter().all(
        |x| x.status == matterhook_domain::SubscriptionStatus::Deleted
            && x.deleted_reason.as_deref() == Some("disconnected")
    ));
    let listed = s.api_get(&bob, "/api/connections").await;
    assert_eq!(listed[0]["status"], "disconnected");

    // A late delivery to an old URL answers 410.
    let late = reqwest::Client::new()
        .post(format!(
            "{}/webhooks/clio/{}",
            s.p.receiver_url, all[0].token
        ))
        .body("{}")
        .send()
        .await
        .expect("answer");
    assert_eq!(late.status(), 410);

    // Disconnecting again is harmless; connecting again resumes the same row and subscribes anew.
    let (status, _) = s
        .api_post(&bob, &format!("/api/connections/{id}/disconnect"))
        .await;
    assert_eq!(status, 200);
    let again = s.connect(&bob).await;
    assert_eq!(again, id);
    assert_eq!(live_subscriptions(&s, id).await.len(), 3);
    worker.stop().await.expect("worker stops");
    s.stop().await;
}

#[tokio::test]
async fn parked_work_a_reconnect_left_behind_is_sent_back_by_the_scheduler() {
    let mut s = Stack::start().await;
    let bob = s.user("bob@hartleyfinch.example").await;
    let id = s.connect(&bob).await;
    // The worker's queue, declared and left idle so what arrives stays countable.
    let idle =
        s.p.start_worker(
            NeedsClio {
                connections: s.another_process(&s.p.receiver_url),
            },
            3,
        )
        .await;
    idle.stop().await.expect("worker stops");
    let queue = s.p.names.worker_queue(NeedsClio::NAME);
    {
        let mut conn = s.p.pool.get().await.expect("conn");
        // One parked event of the connected connection, one of the fixture's disconnected one.
        for connection in [id, s.p.connection_id] {
            let letter = matterhook_test_support::dead_letter(
                &queue,
                "contact",
                "updated",
                connection,
                matterhook_bus::retry::PARKED_REASON,
                "connection needs its user to connect to Clio again",
            );
            matterhook_store::dead_letters::record(&mut conn, &letter)
                .await
                .expect("letter");
        }
    }
    let sent = matterhook_bus::dead_letters::unpark_reconnected(&s.p.pool, &s.p.publisher)
        .await
        .expect("unpark");
    assert_eq!(sent, 1, "only the connected connection's work goes back");
    assert_eq!(s.p.queue_depth(&queue).await.expect("depth"), 1);
    let again = matterhook_bus::dead_letters::unpark_reconnected(&s.p.pool, &s.p.publisher)
        .await
        .expect("unpark");
    assert_eq!(again, 0, "sent once");
    s.stop().await;
}

/// A firm's admin revokes Bob's grant inside Clio. The scheduler's next pass notices it (its
/// checks of his webhooks, or its daily probe of a grant Clio has not accepted for a day), marks
/// the connection and tells Bob, long before his token's next refresh; Carol's live grant is left
/// be, and costs no extra probe (the pass's own calls verified it).
#[tokio::test]
async fn a_grant_revoked_inside_clio_is_noticed_at_the_next_pass() {
    let s = Stack::start().await;
    let bob = s.user("bob@hartleyfinch.example").await;
    let carol = s.user("carol@hartleyfinch.example").await;
    let bobs = s.connect(&bob).await;
    let (_, answer) = s
        .connect_as(&carol, s.p.world.firm.partner_id, "allow")
        .await;
    assert_eq!(answer.status(), 200);
    let carols = answer.json::<serde_json::Value>().await.expect("json")["connection_id"]
        .as_i64()
        .expect("id");
    s.wait_enabled(carols).await;
    s.p.world.sim.revoke_grants_of(s.p.world.firm.attorney_id);

    let pass = s
        .connections
        .scheduled_pass()
        .await
        .expect("pass")
        .expect("ran");
    assert_eq!(s.status(bobs).await, "needs_reauth", "{pass:?}");
    assert_eq!(s.status(carols).await, "connected");
    let mut conn = s.p.pool.get().await.expect("conn");
    let told = matterhook_store::notifications::for_user(&mut conn, bob.id, false, 10)
        .await
        .expect("notifications");
    assert!(
        told.iter()
            .any(|n| n.kind == matterhook_store::notifications::NEEDS_REAUTH),
        "{told:?}"
    );
    drop(conn);

    // A day on, Carol's grant was accepted by this pass's own calls: no probe on top.
    s.p.world.sim.advance_clock(DAY + Duration::from_secs(60));
    let pass = s
        .connections
        .scheduled_pass()
        .await
        .expect("pass")
        .expect("ran");
    assert_eq!(
        (pass.grants_verified, pass.grants_revoked),
        (0, 0),
        "{pass:?}"
    );
    assert_eq!(s.status(carols).await, "connected");
    s.stop().await;
}

/// Every stored token and webhook secret, opened with `cipher`: (where, plaintext).
async fn opened_secrets(
    s: &Stack,
    cipher: &matterhook_crypto::Cipher,
) -> Vec<(String, Result<String, ()>)> {
    use secrecy::ExposeSecret;
    let mut conn = s.p.pool.get().await.expect("conn");
    let mut out = Vec::new();
    for row in matterhook_store::connections::sealed_tokens(&mut conn, 0, 100)
        .await
        .expect("tokens")
    {
        for (what, value, context) in [
            (
                "access",
                &row.access,
                matterhook_store::connections::access_context(row.id),
            ),
            (
                "refresh",
                &row.refresh,
                matterhook_store::connections::refresh_context(row.id),
            ),
        ] {
            if let Some(sealed) = value {
                let plain = cipher
                    .open(sealed, &context)
                    .map(|s| s.expose_secret().to_owned())
                    .map_err(drop);
                out.push((format!("{what}:{}", row.id), plain));
            }
        }
    }
    for (id, sealed) in subscriptions::sealed_secrets(&mut conn, 0, 100)
        .await
        .expect("secrets")
    {
        let plain = cipher
            .open(&sealed, &subscriptions::secret_context(id))
            .map(|s| s.expose_secret().to_owned())
            .map_err(drop);
        out.push((format!("secret:{id}"), plain));
    }
    out
}

#[tokio::test]
async fn rotating_the_key_reseals_every_secret_once_and_reports_what_no_key_opens() {
    use matterhook_crypto::Cipher;
    let (s, worker, _bob, id) = Stack::connected().await;
    s.wait_enabled(id).await;
    let old_key: matterhook_config::EncryptionKey =
        matterhook_config::DEV_ENCRYPTION_KEY.parse().expect("key");
    let new_key: matterhook_config::EncryptionKey = "a7".repeat(32).parse().expect("key");
    let before = opened_secrets(&s, &s.p.cipher).await;
    let sealed = before.len();
    assert!(
        sealed >= 3,
        "two tokens and the webhook secrets: {before:?}"
    );
    assert!(before.iter().all(|(_, p)| p.is_ok()));

    // The binaries now run with the new key, the old one as previous; the CLI's rotation runs.
    let rotating = Cipher::with_previous(&new_key, std::slice::from_ref(&old_key));
    let report = matterhook_connections::keys::reseal_all(&s.p.pool, &rotating)
        .await
        .expect("rotate");
    assert_eq!(
        (report.resealed, report.current, report.raced),
        (sealed, 0, 0)
    );
    assert!(report.unopenable.is_empty());
    // The new key alone opens every secret, to what it was.
    let after = opened_secrets(&s, &Cipher::new(&new_key)).await;
    assert_eq!(after, before, "same secrets, under the new key");
    assert!(
        opened_secrets(&s, &Cipher::new(&old_key))
            .await
            .iter()
            .all(|(_, p)| p.is_err()),
        "the old key opens nothing any more"
    );
    // Again: nothing to do.
    let again = matterhook_connections::keys::reseal_all(&s.p.pool, &rotating)
        .await
        .expect("again");
    assert_eq!((again.resealed, again.current), (0, sealed));

    // A secret no configured key opens is reported and left as it was.
    let stray = Cipher::new(&"5c".repeat(32).parse().expect("key"));
    let sub = live_subscriptions(&s, id).await.remove(0);
    let foreign = stray.seal(
        &secrecy::SecretString::from("x".to_owned()),
        &subscriptions::secret_context(sub.id),
    );
    {
        let mut conn = s.p.pool.get().await.expect("conn");
        diesel::update(schema::webhook_subscriptions::table.find(sub.id))
            .set(schema::webhook_subscriptions::secret_enc.eq(&foreign))
            .execute(&mut conn)
            .await
            .expect("foreign secret");
    }
    let stuck = matterhook_connections::keys::reseal_all(&s.p.pool, &rotating)
        .await
        .expect("third run");
    assert_eq!(
        stuck.unopenable,
        vec![format!("webhook_subscriptions.secret:{}", sub.id)]
    );
    let kept = subscriptions::get(&mut s.p.pool.get().await.expect("conn"), sub.id)
        .await
        .expect("row")
        .expect("subscription");
    assert_eq!(kept.secret_enc.as_deref(), Some(foreign.as_slice()));
    worker.stop().await.expect("stops");
    s.stop().await;
}
