//! The CRM rules, case by case.

use chrono::TimeZone;
use serde_json::json;

use super::*;

fn at(day: u32) -> Option<DateTime<Utc>> {
    Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).single()
}

fn attorney(id: i64, name: &str) -> Option<Attorney> {
    Some(Attorney {
        id,
        name: name.into(),
    })
}

fn matter(id: i64, status: MatterStatus, day: u32) -> MatterFacts {
    MatterFacts {
        id,
        display_number: Some(format!("0000{id}-Doe")),
        status: Some(status),
        stage: None,
        practice_area: Some("Family Law".into()),
        responsible: attorney(10 + id, &format!("Resp {id}")),
        originating: attorney(20 + id, &format!("Orig {id}")),
        updated_at: at(day),
        created_at: at(day),
    }
}

fn person() -> ContactFacts {
    ContactFacts {
        id: 7,
        is_person: true,
        first_name: Some("Jane".into()),
        last_name: Some("Doe".into()),
        name: Some("Jane Doe".into()),
        is_client: true,
        emails: vec![
            Email {
                address: "work@doe.example".into(),
                primary: false,
            },
            Email {
                address: "jane@doe.example".into(),
                primary: true,
            },
        ],
        phones: vec![
            Phone {
                number: "555-0101".into(),
                name: Some("Home".into()),
                primary: false,
            },
            Phone {
                number: "555-0102".into(),
                name: Some("Mobile".into()),
                primary: true,
            },
        ],
        addresses: vec![Address {
            city: Some("Boston".into()),
            province: Some("MA".into()),
            postal_code: Some("02110".into()),
            country: Some("US".into()),
            ..Address::default()
        }],
        date_of_birth: NaiveDate::from_ymd_opt(1980, 5, 17),
        custom_fields: Vec::new(),
        company_client: false,
        matters: Vec::new(),
        related: Vec::new(),
    }
}

fn on() -> CrmSettings {
    CrmSettings {
        enabled: true,
        ..CrmSettings::default()
    }
}

fn tags(c: &ContactFacts, s: &CrmSettings) -> BTreeSet<String> {
    project(c, s).expect("projected").tags
}

#[test]
fn client_status_follows_the_matters() {
    use MatterStatus::{Closed, Open, Pending};
    let of = |statuses: &[MatterStatus]| {
        let matters: Vec<MatterFacts> = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| matter(i as i64, s.clone(), 1))
            .collect();
        client_status(&matters)
    };
    assert_eq!(of(&[]), None);
    assert_eq!(of(&[Closed, Open]), Some(ClientStatus::Active));
    assert_eq!(of(&[Closed, Pending]), Some(ClientStatus::Pending));
    assert_eq!(of(&[Pending]), Some(ClientStatus::Pending));
    assert_eq!(of(&[Closed, Closed]), Some(ClientStatus::Past));
    let mut odd = matter(1, Open, 1);
    odd.status = None;
    assert_eq!(client_status(&[odd]), Some(ClientStatus::Client));
}

#[test]
fn every_contact_is_clio_and_person_and_a_company_is_never_one() {
    let mut c = person();
    assert_eq!(
        tags(&c, &on()),
        ["Clio", "Person", "Personal"]
            .map(String::from)
            .into_iter()
            .collect()
    );
    c.company_client = true;
    assert!(tags(&c, &on()).contains("Company"));
    assert!(!tags(&c, &on()).contains("Personal"));
    c.is_person = false;
    assert_eq!(project(&c, &on()), None);
}

#[test]
fn scope_decides_who_appears() {
    let mut c = person();
    c.is_client = false;
    assert_eq!(project(&c, &on()), None, "not a client");
    let all = CrmSettings {
        scope: Scope::All,
        ..on()
    };
    assert!(project(&c, &all).is_some());
    let related = CrmSettings {
        scope: Scope::ClientsAndRelated,
        ..on()
    };
    assert_eq!(project(&c, &related), None, "related to nothing");
    c.related.push(Related {
        matter: matter(3, MatterStatus::Open, 2),
        description: Some("Spouse".into()),
    });
    assert!(project(&c, &related).is_some());
}

#[test]
fn matter_tags_use_the_stage_else_the_status_and_practice_areas_of_open_matters() {
    let mut c = person();
    let mut staged = matter(1, MatterStatus::Open, 1);
    staged.stage = Some("Discovery".into());
    let mut closed = matter(2, MatterStatus::Closed, 2);
    closed.practice_area = Some("Estates".into());
    c.matters = vec![staged, closed];
    let t = tags(&c, &on());
    assert!(t.contains("Matter Stage: Discovery") && t.contains("Matter Stage: Closed"));
    assert!(t.contains("Practice Area: Family Law"));
    assert!(
        !t.contains("Practice Area: Estates"),
        "a closed matter's area: {t:?}"
    );
    assert!(t.contains("Active Client"));
    let off = CrmSettings {
        tags: TagOptions {
            practice_area: false,
            matter_number: true,
            ..TagOptions::default()
        },
        ..on()
    };
    let t = tags(&c, &off);
    assert!(!t.iter().any(|x| x.starts_with("Practice Area")));
    assert!(t.contains("Matter Number: 00001-Doe"));
}

#[test]
fn related_matters_relationships_and_location_are_tags_when_asked() {
    let mut c = person();
    let mut m = matter(4, MatterStatus::Open, 1);
    m.practice_area = Some("Litigation".into());
    c.related.push(Related {
        matter: m,
        description: Some("Opposing Counsel".into()),
    });
    assert!(!tags(&c, &on())
        .iter()
        .any(|t| t.starts_with("Related") || t.starts_with("Relationship")));
    let s = CrmSettings {
        tags: TagOptions {
            related_practice_area: true,
            relationships: true,
            location: true,
            ..TagOptions::default()
        },
        ..on()
    };
    let t = tags(&c, &s);
    for want in [
        "Related Practice Area: Litigation",
        "Relationship: Opposing Counsel",
        "City: Boston",
        "State: MA",
        "Postal Code: 02110",
        "Country: US",
    ] {
        assert!(t.contains(want), "{want} in {t:?}");
    }
}

#[test]
fn attorney_tags_take_the_most_recent_matter_or_all() {
    let mut c = person();
    c.matters = vec![
        matter(1, MatterStatus::Open, 3),
        matter(2, MatterStatus::Closed, 9),
    ];
    let s = |r, o| CrmSettings {
        tags: TagOptions {
            responsible_attorney: r,
            originating_attorney: o,
            ..TagOptions::default()
        },
        ..on()
    };
    let t = tags(&c, &s(AttorneyTags::MostRecent, AttorneyTags::None));
    assert!(t.contains("Responsible Attorney: Resp 2"));
    assert!(!t.contains("Responsible Attorney: Resp 1"));
    assert!(!t.iter().any(|x| x.starts_with("Originating")));
    let t = tags(&c, &s(AttorneyTags::All, AttorneyTags::All));
    for want in [
        "Responsible Attorney: Resp 1",
        "Responsible Attorney: Resp 2",
        "Originating Attorney: Orig 1",
        "Originating Attorney: Orig 2",
    ] {
        assert!(t.contains(want), "{want}");
    }
}

#[test]
fn ownership_follows_the_most_recently_updated_matter_and_falls_back() {
    let mut c = person();
    let owner = |c: &ContactFacts, s: CrmSettings| project(c, &s).and_then(|p| p.owner);
    assert_eq!(owner(&c, on()), None, "no matter, no fallback: unassigned");
    assert_eq!(
        owner(
            &c,
            CrmSettings {
                fallback_user: Some(99),
                ..on()
            }
        ),
        Some(99)
    );
    c.matters = vec![
        matter(1, MatterStatus::Open, 9),
        matter(2, MatterStatus::Open, 3),
    ];
    assert_eq!(owner(&c, on()), Some(11));
    let originating = CrmSettings {
        ownership: Ownership::Originating,
        ..on()
    };
    assert_eq!(owner(&c, originating), Some(21));
    let fixed = CrmSettings {
        ownership: Ownership::PrimaryUser,
        primary_user: Some(5),
        ..on()
    };
    assert_eq!(owner(&c, fixed), Some(5));
    c.matters[0].responsible = None;
    assert_eq!(
        owner(
            &c,
            CrmSettings {
                fallback_user: Some(99),
                ..on()
            }
        ),
        Some(99),
        "the latest matter has no responsible attorney"
    );
}

#[test]
fn custom_fields_of_each_taggable_type_become_tags() {
    let mut c = person();
    let v = |name: &str, t: &str, value| CustomValue {
        name: name.into(),
        field_type: t.into(),
        value,
    };
    c.custom_fields = vec![
        v("VIP", "checkbox", json!(true)),
        v("Newsletter", "checkbox", json!("false")),
        v("Budget", "currency", json!("2500.00")),
        v("Referrals", "numeric", json!(3)),
        v("Source", "picklist", json!("Website")),
        v("Nickname", "text_line", json!("JD")),
        v("Signed", "date", json!("2026-01-02")),
        v("Empty", "text_line", json!(null)),
    ];
    let s = CrmSettings {
        custom_field_tags: [
            "vip",
            "Newsletter",
            "Budget",
            "Referrals",
            "Source",
            "Nickname",
            "Signed",
            "Empty",
        ]
        .map(String::from)
        .to_vec(),
        key_facts: KeyFacts {
            birthday: true,
            custom_date_fields: vec!["Signed".into()],
            clio_id: true,
        },
        ..on()
    };
    let p = project(&c, &s).expect("projected");
    for want in [
        "VIP",
        "Budget: 2500.00",
        "Referrals: 3",
        "Source: Website",
        "Nickname: JD",
    ] {
        assert!(p.tags.contains(want), "{want} in {:?}", p.tags);
    }
    assert!(!p
        .tags
        .iter()
        .any(|t| t.starts_with("Newsletter") || t.starts_with("Signed") || t.starts_with("Empty")));
    assert_eq!(
        p.facts.get("birthday").map(String::as_str),
        Some("1980-05-17")
    );
    assert_eq!(p.facts.get("clio_id").map(String::as_str), Some("7"));
    assert_eq!(
        p.facts.get("Signed").map(String::as_str),
        Some("2026-01-02")
    );
    assert!(untaggable("Signed", "date").is_some_and(|r| r.contains("date field")));
    assert_eq!(untaggable("Budget", "currency"), None);
}

#[test]
fn emails_and_phones_put_the_primary_first_and_segments_filter() {
    let c = person();
    let p = project(&c, &on()).expect("projected");
    assert_eq!(p.emails, vec!["jane@doe.example", "work@doe.example"]);
    assert_eq!(p.phones[0].number, "555-0102");
    let primary = CrmSettings {
        primary_email_only: true,
        ..on()
    };
    assert_eq!(
        project(&c, &primary).expect("projected").emails,
        vec!["jane@doe.example"]
    );
    let segment = |tags: &[&str]| CrmSettings {
        segment_tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        ..on()
    };
    assert!(project(&c, &segment(&["Active Client"])).is_none());
    assert!(project(&c, &segment(&["Active Client", "personal"])).is_some());
}

#[test]
fn a_new_client_is_one_who_had_no_client_status() {
    let mut c = person();
    let before = project(&c, &on());
    c.matters = vec![matter(1, MatterStatus::Open, 1)];
    let after = project(&c, &on());
    assert!(becomes_client(before.as_ref(), after.as_ref()));
    assert!(becomes_client(None, after.as_ref()));
    c.matters[0].status = Some(MatterStatus::Closed);
    let closed = project(&c, &on());
    assert!(!becomes_client(after.as_ref(), closed.as_ref()));
}

#[test]
fn a_client_of_the_past_had_a_matter_before_the_feed_was_turned_on() {
    let mut c = person();
    c.matters = vec![
        matter(1, MatterStatus::Open, 5),
        matter(2, MatterStatus::Open, 9),
    ];
    let day = |d: u32| at(d).expect("a day");
    assert!(client_before(&c, day(6)), "its first matter came before");
    assert!(!client_before(&c, day(5)), "the same instant is not before");
    assert!(!client_before(&c, day(4)), "a client only since");
    c.matters[0].created_at = None;
    c.matters[1].created_at = None;
    assert!(client_before(&c, day(1)), "no dated matter: of the past");
}
