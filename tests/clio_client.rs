//! The real Clio client against the simulator, over real HTTP: envelopes, fields, paging,
//! batches, conditional requests, errors, and per-token pacing.

use std::time::Duration;

use clio_sim::{ApiFault, ApiFaultKind, Kind, SimConfig};
use futures::{StreamExt, TryStreamExt};
use matterhook_clio::{
    models::{Contact, IdRef, Matter, MatterStatus, NewCommunication, NewNote, Participant},
    ClioError, Conditional, Fields, Query, Region,
};
use matterhook_e2e::{plain, World};
use serde_json::{json, Value};

fn matter_fields() -> Fields {
    Fields::new()
        .with([
            "id",
            "etag",
            "display_number",
            "status",
            "open_date",
            "updated_at",
        ])
        .nested("client", ["id", "name", "primary_email_address"])
        .nested("responsible_attorney", ["id", "name", "email"])
        .nested(
            "custom_field_values",
            ["id", "field_name", "value", "custom_field"],
        )
}

#[tokio::test]
async fn who_am_i_names_the_user_and_the_firm() {
    let w = World::start(SimConfig::default()).await;
    let (api, _) = w.api_for(w.firm.attorney_id).await;
    let me = api.who_am_i().await.expect("who_am_i");
    assert_eq!(me.id, w.firm.attorney_id);
    assert_eq!(me.email.as_deref(), Some("alice@hartleyfinch.example"));
    let account = me.account.expect("account requested");
    assert_eq!(
        (account.id, account.name.as_deref()),
        (w.firm.account_id, Some("Hartley & Finch LLP"))
    );
}

#[tokio::test]
async fn fields_pick_what_comes_back_and_associations_resolve() {
    let w = World::start(SimConfig::default()).await;
    let (api, _) = w.api_for(w.firm.attorney_id).await;
    let matter: Matter = api
        .matter(w.firm.matter_ids[0], &matter_fields())
        .await
        .expect("matter");
    assert_eq!(matter.status, Some(MatterStatus::Open));
    let client = matter.client.expect("client requested");
    assert_eq!(client.name.as_deref(), Some("Jane Doe"));
    // Clio keeps emails as typed; normalising them is our job, not the client's.
    assert_eq!(
        client.primary_email_address.as_deref(),
        Some("Jane.Doe@Example.com ")
    );
    assert_eq!(
        matter.responsible_attorney.and_then(|a| a.name).as_deref(),
        Some("Alice Hartley")
    );
    let cfv = matter.custom_field_values.expect("custom fields requested");
    assert_eq!(
        cfv[0].value.as_text().as_deref(),
        Some("Referred by Smith & Co")
    );
    assert!(
        matter.etag.expect("etag").starts_with('"'),
        "etags carry literal quotes"
    );

    // Without `fields`, only id and etag.
    let bare: Value = api
        .get(
            &format!("matters/{}.json", w.firm.matter_ids[0]),
            &Query::new(),
        )
        .await
        .expect("bare");
    let keys: Vec<&String> = bare.as_object().expect("object").keys().collect();
    assert_eq!(keys, vec!["etag", "id"]);
}

#[tokio::test]
async fn deep_or_unknown_fields_are_refused_with_400() {
    let w = World::start(SimConfig::default()).await;
    let (api, _) = w.api_for(w.firm.attorney_id).await;
    let path = format!("matters/{}.json", w.firm.matter_ids[0]);
    for bad in [
        "id,client{company{id}}",
        "id,colour",
        "id,client{email_addresses}",
    ] {
        let err = api
            .get::<Value>(&path, &Query::new().param("fields", bad))
            .await
            .expect_err(bad);
        assert!(
            matches!(err, ClioError::Rejected { status: 400, .. }),
            "{bad}: {err:?}"
        );
        assert!(!err.is_transient());
    }
}

#[tokio::test]
async fn paging_follows_cursors_across_more_than_a_thousand_records() {
    let w = World::start(SimConfig {
        rate_limit: 1000,
        ..SimConfig::default()
    })
    .await;
    let account = w.sim.create_account("Bulk Firm");
    let user = w
        .sim
        .create(
            Kind::User,
            account,
            json!({"name": "Bulk User", "email": "bulk@example.com"}),
        )
        .expect("user")
        .id;
    let created = clio_sim::seed::bulk_contacts(&w.sim, account, 1_050).expect("bulk");
    let (api, token) = w.api_for(user).await;

    let fields = Fields::new().with(["id", "name"]);
    let contacts: Vec<Contact> = api
        .contacts(Query::new().fields(&fields))
        .try_collect()
        .await
        .expect("every page");
    let ids: Vec<i64> = contacts.iter().map(|c| c.id).collect();
    assert_eq!(
        ids, created,
        "every record once, in id order, nothing from other firms"
    );
    assert_eq!(
        w.sim.calls_for(&plain(&token)).total,
        6,
        "1,050 records in pages of 200"
    );

    // A smaller page size means more pages, and the stream yields pages lazily.
    let mut pages = Box::pin(api.pages::<Contact>("contacts.json", Query::new().limit(100)));
    let first = pages.next().await.expect("a page").expect("ok");
    assert_eq!(first.len(), 100);
    assert_eq!(
        w.sim.calls_for(&plain(&token)).total,
        7,
        "only the first page was fetched"
    );
}

#[tokio::test]
async fn batch_reads_use_ids_200_at_a_time_and_skip_missing_ids() {
    let w = World::start(SimConfig {
        rate_limit: 1000,
        ..SimConfig::default()
    })
    .await;
    let mut ids = clio_sim::seed::bulk_contacts(&w.sim, w.firm.account_id, 250).expect("bulk");
    let (api, token) = w.api_for(w.firm.attorney_id).await;
    w.sim.delete(Kind::Contact, ids[10]).expect("delete");
    ids.push(999_999_999);
    let before = w.sim.calls_for(&plain(&token)).total;
    let found: Vec<Contact> = api
        .get_many("contacts.json", &ids, &Fields::new().with(["id", "name"]))
        .await
        .expect("batch");
    assert_eq!(found.len(), 249, "250 created, one deleted, one unknown");
    assert!(found.iter().all(|c| c.id != ids[10]));
    assert_eq!(
        w.sim.calls_for(&plain(&token)).total - before,
        2,
        "251 ids in two calls"
    );
}

#[tokio::test]
async fn filters_narrow_the_index() {
    let w = World::start(SimConfig::default()).await;
    let (api, _) = w.api_for(w.firm.attorney_id).await;
    let fields = Fields::new().with(["id", "status"]);
    let open: Vec<Matter> = api
        .matters(Query::new().fields(&fields).param("status", "open,pending"))
        .try_collect()
        .await
        .expect("matters");
    assert_eq!(open.len(), 4);
    assert!(open.iter().all(|m| m.status != Some(MatterStatus::Closed)));

    let jane = w.firm.contact_ids[1];
    let of_client: Vec<Matter> = api
        .matters(Query::new().param("client_id", jane.to_string()))
        .try_collect()
        .await
        .expect("by client");
    assert_eq!(
        of_client.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![w.firm.matter_ids[0]]
    );

    let later = w.sim.now() + chrono::Duration::seconds(1);
    w.sim.advance_clock(Duration::from_secs(2));
    w.sim
        .update(Kind::Contact, jane, json!({"title": "CFO"}))
        .expect("update");
    let changed: Vec<Contact> = api
        .contacts(Query::new().updated_since(later))
        .try_collect()
        .await
        .expect("updated_since");
    assert_eq!(changed.iter().map(|c| c.id).collect::<Vec<_>>(), vec![jane]);

    // Clio's `query` does not normalise phone numbers: the digits alone find nothing.
    let by_phone: Vec<Contact> = api
        .contacts(Query::new().param("query", "5551234567"))
        .try_collect()
        .await
        .expect("query");
    assert!(by_phone.is_empty());
    let by_email: Vec<Contact> = api
        .contacts(Query::new().param("query", "jane.doe@example.com"))
        .try_collect()
        .await
        .expect("query");
    assert_eq!(by_email.len(), 1);
}

#[tokio::test]
async fn etags_make_unchanged_records_cost_no_body() {
    let w = World::start(SimConfig::default()).await;
    let (api, _) = w.api_for(w.firm.attorney_id).await;
    let path = format!("contacts/{}.json", w.firm.contact_ids[1]);
    let q = Query::new().fields(&Fields::new().with(["id", "etag", "name"]));
    let Conditional::Modified { etag, .. } = api
        .get_if_changed::<Contact>(&path, &q, None)
        .await
        .expect("first read")
    else {
        panic!("a read without an etag returns the record")
    };
    let etag = etag.expect("ETag header");
    let second = api
        .get_if_changed::<Contact>(&path, &q, Some(&etag))
        .await
        .expect("second read");
    assert!(matches!(second, Conditional::NotModified), "{second:?}");

    w.sim
        .update(
            Kind::Contact,
            w.firm.contact_ids[1],
            json!({"first_name": "Janet"}),
        )
        .expect("update");
    match api
        .get_if_changed::<Contact>(&path, &q, Some(&etag))
        .await
        .expect("third read")
    {
        Conditional::Modified { value, etag: new } => {
            assert_eq!(value.name.as_deref(), Some("Janet Doe"));
            assert_ne!(new.as_deref(), Some(etag.as_str()));
        }
        Conditional::NotModified => panic!("a changed record is not 304"),
    }
}

#[tokio::test]
async fn errors_are_classified() {
    let w = World::start(SimConfig::default()).await;
    let (api, token) = w.api_for(w.firm.attorney_id).await;

    let missing = api
        .matter(424_242, &Fields::new().with(["id"]))
        .await
        .expect_err("missing");
    assert!(matches!(missing, ClioError::NotFound), "{missing:?}");

    w.sim.deny(w.firm.attorney_id, &["custom_fields"]);
    let forbidden = api
        .custom_fields("Matter")
        .try_collect::<Vec<_>>()
        .await
        .expect_err("403");
    assert!(
        matches!(forbidden, ClioError::Forbidden { .. }),
        "{forbidden:?}"
    );

    w.sim.inject_fault(ApiFault {
        kind: ApiFaultKind::ServerError,
        count: 1,
        token: Some(plain(&token)),
        retry_after_secs: 1,
        after: 0,
    });
    let server = api.who_am_i().await.expect_err("500");
    assert!(
        matches!(server, ClioError::Server { status: 500 }) && server.is_transient(),
        "{server:?}"
    );
    api.who_am_i()
        .await
        .expect("the fault was only for one call");

    let notes = api
        .get::<Value>("notes.json", &Query::new())
        .await
        .expect_err("notes need a type");
    assert!(
        matches!(notes, ClioError::Rejected { status: 422, ref kind, .. } if kind == "ArgumentError"),
        "{notes:?}"
    );
}

#[tokio::test]
async fn a_hung_call_times_out_as_a_network_error() {
    let w = impatient_world().await;
    let (api, token) = w.api_for(w.firm.attorney_id).await;
    w.sim.inject_fault(ApiFault {
        kind: ApiFaultKind::Timeout,
        count: 1,
        token: Some(plain(&token)),
        retry_after_secs: 1,
        after: 0,
    });
    let err = api.who_am_i().await.expect_err("timeout");
    assert!(
        matches!(err, ClioError::Network(_)) && err.is_transient(),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_expired_token_is_unauthorized_until_refreshed() {
    let w = World::start(SimConfig {
        token_expires_in: Duration::from_secs(3600),
        ..SimConfig::default()
    })
    .await;
    let tokens = w.connect(w.firm.attorney_id).await;
    assert_eq!(tokens.expires_in, Some(Duration::from_secs(3600)));
    let api = w.client.api(Region::Us, tokens.access_token.clone());
    api.who_am_i().await.expect("fresh token works");

    w.sim.advance_clock(Duration::from_secs(3601));
    let err = api.who_am_i().await.expect_err("expired");
    assert!(
        matches!(err, ClioError::Unauthorized { ref code } if code == "invalid_token"),
        "{err:?}"
    );

    let refresh = tokens.refresh_token.expect("a refresh token");
    let renewed = w
        .oauth()
        .refresh(Region::Us, &refresh)
        .await
        .expect("refresh");
    w.client
        .api(Region::Us, renewed.access_token)
        .who_am_i()
        .await
        .expect("refreshed token works");
}

#[tokio::test]
async fn rate_limit_headers_come_on_every_answer_and_pacing_stays_within_them() {
    let w = World::start(SimConfig {
        rate_limit: 4,
        rate_window: Duration::from_secs(2),
        ..SimConfig::default()
    })
    .await;
    let (api, token) = w.api_for(w.firm.attorney_id).await;

    let raw = reqwest::Client::new();
    let url = format!("{}api/v4/matters/1.json", w.server.base_url());
    let answer = raw
        .get(&url)
        .bearer_auth(plain(&token))
        .send()
        .await
        .expect("raw call");
    assert_eq!(answer.status(), 404);
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(answer.headers().contains_key(h), "{h} on a 404");
    }
    let body: Value = answer.json().await.expect("error body");
    assert_eq!(
        body,
        json!({"error": {"type": "NotFoundError", "message": "Not Found"}})
    );

    // Ten calls against a budget of four per two seconds: the client waits for each window
    // instead of spending calls on 429s.
    for _ in 0..10 {
        api.who_am_i().await.expect("paced call succeeds");
    }
    let stats = w.sim.calls_for(&plain(&token));
    assert_eq!((stats.total, stats.rate_limited), (11, 0));
    assert_eq!(
        stats.versioned, 10,
        "every call of the client pins X-API-VERSION (the raw one did not)"
    );
}

#[tokio::test]
async fn a_429_storm_on_one_token_never_delays_another() {
    let w = World::start(SimConfig {
        rate_limit: 1000,
        ..SimConfig::default()
    })
    .await;
    let (limited, limited_token) = w.api_for(w.firm.attorney_id).await;
    let (free, free_token) = w.api_for(w.firm.partner_id).await;
    w.sim.inject_fault(ApiFault {
        kind: ApiFaultKind::RateLimit,
        count: 3,
        token: Some(plain(&limited_token)),
        retry_after_secs: 5,
        after: 0,
    });

    let err = limited.who_am_i().await.expect_err("429");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(5)), "{err:?}");

    // The limited token's next call waits out Retry-After in the pacer...
    let waiting = tokio::spawn({
        let limited = limited.clone();
        async move { limited.who_am_i().await }
    });
    // ...while the other firm's calls go straight through.
    for _ in 0..5 {
        free.who_am_i().await.expect("unaffected token");
    }
    assert!(
        !waiting.is_finished(),
        "the limited token is still waiting after the other made 5 calls"
    );
    assert_eq!(
        w.sim.calls_for(&plain(&limited_token)).total,
        1,
        "no call was sent during the wait"
    );

    // Two more injected 429s: each blocks the token again, and the client reports it.
    let second = waiting.await.expect("task");
    assert!(
        matches!(second, Err(ClioError::RateLimited { .. })),
        "{second:?}"
    );
    let stats = w.sim.calls_for(&plain(&free_token));
    assert_eq!((stats.total, stats.rate_limited), (5, 0));
}

#[tokio::test]
async fn a_wait_longer_than_allowed_fails_fast_instead_of_holding_the_caller() {
    let w = World::start_with(SimConfig::default(), |c| matterhook_clio::ClientConfig {
        max_pacing_wait: Duration::from_secs(1),
        ..c
    })
    .await;
    let (api, token) = w.api_for(w.firm.attorney_id).await;
    w.sim.inject_fault(ApiFault {
        kind: ApiFaultKind::RateLimit,
        count: 1,
        token: Some(plain(&token)),
        retry_after_secs: 60,
        after: 0,
    });
    assert!(api.who_am_i().await.is_err());
    let err = api.who_am_i().await.expect_err("still limited");
    assert!(
        err.retry_after()
            .is_some_and(|d| d > Duration::from_secs(50)),
        "{err:?}"
    );
    assert_eq!(
        w.sim.calls_for(&plain(&token)).total,
        1,
        "the second call was never sent"
    );
}

#[tokio::test]
async fn notes_and_communications_are_written_back() {
    let w = World::start(SimConfig::default()).await;
    let (api, _) = w.api_for(w.firm.attorney_id).await;
    let contact = w.firm.contact_ids[1];
    let note = api
        .create_note(&NewNote {
            kind: "Contact".into(),
            contact: Some(IdRef { id: contact }),
            matter: None,
            subject: "Call summary".into(),
            detail: "Discussed settlement.".into(),
            date: chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"),
        })
        .await
        .expect("note created");
    assert_eq!(note.subject.as_deref(), Some("Call summary"));
    let notes: Vec<_> = api
        .notes(
            "Contact",
            Query::new().param("contact_id", contact.to_string()),
        )
        .try_collect()
        .await
        .expect("notes");
    assert_eq!(
        notes.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![note.id]
    );

    let call = api
        .create_communication(&NewCommunication {
            kind: "PhoneCommunication".into(),
            subject: "Intake call".into(),
            body: "New matter discussed".into(),
            received_at: chrono::Utc::now(),
            matter: Some(IdRef {
                id: w.firm.matter_ids[0],
            }),
            senders: vec![Participant {
                id: contact,
                kind: "Contact".into(),
            }],
            receivers: vec![Participant {
                id: w.firm.attorney_id,
                kind: "User".into(),
            }],
        })
        .await
        .expect("communication created");
    assert_eq!(call.kind.as_deref(), Some("PhoneCommunication"));

    let bad = api
        .create_note(&NewNote {
            kind: "Matter".into(),
            contact: None,
            matter: Some(IdRef { id: 1 }),
            subject: "x".into(),
            detail: String::new(),
            date: chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"),
        })
        .await
        .expect_err("unknown matter");
    assert!(
        matches!(bad, ClioError::Rejected { status: 422, .. }),
        "{bad:?}"
    );
}

#[tokio::test]
async fn a_paging_link_to_another_host_is_never_followed() {
    use actix_web::{web, App, HttpResponse, HttpServer};
    // A fake Clio whose first page sends `next` to another origin: following it would hand our
    // bearer token to that host.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let base =
        url::Url::parse(&format!("http://{}", listener.local_addr().expect("addr"))).expect("url");
    let server = HttpServer::new(|| {
        App::new().route(
            "/api/v4/contacts.json",
            web::get().to(|| async {
                HttpResponse::Ok().json(json!({"data": [{"id": 1}],
                    "meta": {"paging": {"next": "http://127.0.0.2:9/api/v4/contacts.json?page_token=x"}}}))
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .expect("listens")
    .run();
    let handle = server.handle();
    tokio::spawn(server);

    let client =
        matterhook_clio::ClioClient::new(matterhook_clio::ClientConfig::new(base)).expect("client");
    let api = client.api(Region::Us, secrecy::SecretString::from("token".to_owned()));
    let results: Vec<Result<Contact, ClioError>> = api.contacts(Query::new()).collect().await;
    assert_eq!(
        results.len(),
        2,
        "one record, then the refusal, then the end"
    );
    assert_eq!(results[0].as_ref().map(|c| c.id).ok(), Some(1));
    assert!(
        matches!(&results[1], Err(ClioError::Unexpected { what, .. }) if what.contains("leaves Clio")),
        "{:?}",
        results[1]
    );
    handle.stop(false).await;
}

#[tokio::test]
async fn paths_cannot_leave_the_api_and_unknown_versions_are_gone() {
    let w = World::start(SimConfig::default()).await;
    let (api, token) = w.api_for(w.firm.attorney_id).await;
    for escape in [
        "https://evil.example/x.json",
        "../../oauth/token",
        "matters/../../../oauth/deauthorize",
        "%2e%2e/%2e%2e/oauth/token",
    ] {
        let err = api
            .get::<Value>(escape, &Query::new())
            .await
            .expect_err(escape);
        assert!(
            matches!(err, ClioError::Unexpected { ref what, .. } if what.contains("outside the API")),
            "{escape}: {err:?}"
        );
    }
    assert_eq!(w.sim.calls_for(&plain(&token)).total, 0, "nothing was sent");

    let raw = reqwest::Client::new()
        .get(format!("{}api/v4/users/who_am_i.json", w.server.base_url()))
        .bearer_auth(plain(&token))
        .header("X-API-VERSION", "3.9.0")
        .send()
        .await
        .expect("raw call");
    assert_eq!(raw.status(), 410);
}

#[tokio::test]
async fn a_write_whose_answer_is_dropped_is_in_clio_all_the_same() {
    let w = impatient_world().await;
    let (api, token) = w.api_for(w.firm.attorney_id).await;
    let contact = w.firm.contact_ids[1];
    w.sim.inject_fault(ApiFault {
        kind: ApiFaultKind::DropAnswer,
        count: 1,
        token: Some(plain(&token)),
        retry_after_secs: 1,
        after: 0,
    });
    // A read neither suffers the fault nor uses it up.
    api.who_am_i().await.expect("reads pass");
    let lost = api
        .create_note(&NewNote {
            kind: "Contact".into(),
            contact: Some(IdRef { id: contact }),
            matter: None,
            subject: "Call".into(),
            detail: "Discussed the lease.\n\n[matterhook activity 7]".into(),
            date: chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"),
        })
        .await
        .expect_err("the answer never comes");
    assert!(lost.is_transient(), "{lost:?}");
    // Yet the note is in Clio, where a retry can find it by its marker.
    let notes: Vec<_> = api
        .notes(
            "Contact",
            Query::new()
                .param("contact_id", contact.to_string())
                .fields(&Fields::new().with(["id", "detail"])),
        )
        .try_collect()
        .await
        .expect("notes");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(matterhook_domain::activity::carries_marker(
        notes[0].detail.as_deref().unwrap_or_default(),
        7
    ));
}

/// A world whose client gives up after 300 ms, and whose simulator holds a hung answer for 30 s:
/// a timeout fault is seen as no answer at all.
async fn impatient_world() -> World {
    World::start_with(
        SimConfig {
            timeout_fault_delay: Duration::from_secs(30),
            ..SimConfig::default()
        },
        |c| matterhook_clio::ClientConfig {
            timeout: Duration::from_millis(300),
            ..c
        },
    )
    .await
}
