use strum::VariantArray;

use super::*;

fn fields(pairs: &[(WatchField, &str)]) -> Fields {
    pairs.iter().map(|(f, v)| (*f, (*v).to_owned())).collect()
}

fn mapping() -> BTreeMap<String, String> {
    [("Estate Planning".to_owned(), "Probate".to_owned())].into()
}

#[test]
fn clio_gives_every_field_and_the_case_type_through_the_mapping() {
    let facts = ClioFacts {
        first_name: Some("Mary".into()),
        last_name: Some("O'Brien".into()),
        date_of_birth: chrono::NaiveDate::from_ymd_opt(1950, 3, 14),
        city: Some("Boston".into()),
        state: Some("MA".into()),
        display_number: Some("00003-OBrien".into()),
        responsible_attorney: Some("Alice Hartley".into()),
        practice_area: Some(" estate planning ".into()),
        open_date: chrono::NaiveDate::from_ymd_opt(2026, 1, 5),
    };
    let got = from_clio(&facts, &mapping());
    assert_eq!(got.len(), WatchField::VARIANTS.len());
    assert_eq!(got[&WatchField::CaseType], "Probate");
    assert_eq!(got[&WatchField::DateOfBirth], "1950-03-14");
    assert_eq!(got[&WatchField::DateOfInterest], "2026-01-05");
    let unmapped = ClioFacts {
        practice_area: Some("Litigation".into()),
        ..ClioFacts::default()
    };
    assert_eq!(
        from_clio(&unmapped, &mapping())[&WatchField::CaseType],
        "Litigation"
    );
}

#[test]
fn empty_values_in_clio_never_replace_ours() {
    let facts = ClioFacts {
        first_name: Some("  ".into()),
        last_name: Some("Doe".into()),
        ..ClioFacts::default()
    };
    let clio = from_clio(&facts, &BTreeMap::new());
    assert_eq!(clio, fields(&[(WatchField::LastName, "Doe")]));
    let current = fields(&[
        (WatchField::FirstName, "Jane"),
        (WatchField::DateOfBirth, "1980-01-01"),
        (WatchField::LastName, "Smith"),
    ]);
    let m = merge(&current, &BTreeSet::new(), &clio, ConflictPolicy::KeepLocal);
    assert_eq!(m.fields[&WatchField::FirstName], "Jane");
    assert_eq!(m.fields[&WatchField::DateOfBirth], "1980-01-01");
    assert_eq!(m.fields[&WatchField::LastName], "Doe");
    assert_eq!(
        m.changes,
        vec![Change {
            field: WatchField::LastName,
            from: Some("Smith".into()),
            to: "Doe".into()
        }]
    );
}

#[test]
fn a_local_edit_survives_under_keep_local_as_a_conflict_and_yields_under_prefer_clio() {
    let current = fields(&[(WatchField::City, "Cambridge")]);
    let edited: BTreeSet<_> = [WatchField::City].into();
    let clio = fields(&[(WatchField::City, "Boston")]);
    let kept = merge(&current, &edited, &clio, ConflictPolicy::KeepLocal);
    assert_eq!(kept.fields[&WatchField::City], "Cambridge");
    assert!(kept.changes.is_empty());
    assert_eq!(
        kept.conflicts,
        vec![Conflict {
            field: WatchField::City,
            ours: Some("Cambridge".into()),
            clio: "Boston".into()
        }]
    );
    assert!(kept.edited.contains(&WatchField::City), "still protected");
    let replaced = merge(&current, &edited, &clio, ConflictPolicy::PreferClio);
    assert_eq!(replaced.fields[&WatchField::City], "Boston");
    assert!(replaced.conflicts.is_empty());
    assert!(replaced.edited.is_empty());
}

#[test]
fn an_edit_clio_agrees_with_is_no_longer_protected_and_unedited_fields_follow_clio() {
    let current = fields(&[(WatchField::City, "Boston"), (WatchField::State, "NY")]);
    let edited: BTreeSet<_> = [WatchField::City].into();
    let clio = fields(&[(WatchField::City, "Boston"), (WatchField::State, "MA")]);
    let m = merge(&current, &edited, &clio, ConflictPolicy::KeepLocal);
    assert!(m.edited.is_empty());
    assert!(m.conflicts.is_empty());
    assert_eq!(m.fields[&WatchField::State], "MA");
    assert_eq!(m.changes.len(), 1);
}

#[test]
fn an_edited_value_is_trimmed_dates_are_checked_and_empty_clears() {
    assert_eq!(
        WatchField::City.edited_value("  Salem "),
        Ok(Some("Salem".into()))
    );
    assert_eq!(WatchField::City.edited_value("   "), Ok(None));
    assert_eq!(
        WatchField::DateOfBirth.edited_value("1950-3-4"),
        Ok(Some("1950-03-04".into()))
    );
    assert!(WatchField::DateOfBirth.edited_value("14/03/1950").is_err());
    assert!(WatchField::LastName.edited_value(&"x".repeat(256)).is_err());
}

#[test]
fn settings_refuse_a_blank_or_case_twin_mapping() {
    let mut s = WatchSettings::default();
    s.mapping.insert("Estate Planning".into(), "Probate".into());
    assert_eq!(s.problem(), None);
    s.mapping.insert("estate planning".into(), "Wills".into());
    assert!(s.problem().is_some());
    let mut blank = WatchSettings::default();
    blank.mapping.insert("Litigation".into(), " ".into());
    assert_eq!(
        blank.problem().map(|p| p.0),
        Some("mapping.Litigation".into())
    );
}

#[test]
fn automatic_syncs_follow_the_frequency_and_logins_an_hour() {
    let now = chrono::Utc::now();
    let hours = |h| Some(now - chrono::Duration::hours(h));
    let mut s = WatchSettings::default();
    assert!(!s.auto_sync_due(None, now), "auto_sync off");
    s.auto_sync = true;
    assert!(s.auto_sync_due(None, now), "never synced");
    assert!(!s.auto_sync_due(hours(23), now));
    assert!(s.auto_sync_due(hours(24), now));
    s.frequency = Frequency::Weekly;
    assert!(!s.auto_sync_due(hours(24 * 6), now));
    assert!(s.auto_sync_due(hours(24 * 7), now));
    s.frequency = Frequency::Manual;
    assert!(!s.auto_sync_due(hours(24 * 365), now));

    assert!(!s.login_sync_due(hours(5), now), "sync_on_login off");
    s.sync_on_login = true;
    assert!(!s.login_sync_due(Some(now - chrono::Duration::minutes(59)), now));
    assert!(s.login_sync_due(hours(2), now));
    assert!(s.login_sync_due(None, now));
}

#[test]
fn an_edit_is_protected_and_settles_its_conflict_and_accepting_follows_clio_again() {
    use WatchField::*;
    let start = Sides {
        fields: fields(&[(City, "Boston"), (LastName, "Doe")]),
        edited: BTreeSet::new(),
        conflicts: vec![Conflict {
            field: LastName,
            ours: Some("Doe".into()),
            clio: "Smith".into(),
        }],
    };
    let edits: BTreeMap<_, _> = [
        (City, Some("Salem".to_owned())),
        (LastName, Some("Doe".to_owned())),
        (State, None),
    ]
    .into();
    let (after, changed) = edit(&start, &edits);
    assert_eq!(
        changed,
        vec![(City, Some("Boston".into()), Some("Salem".into()))]
    );
    assert_eq!(after.edited, [City].into());
    assert_eq!(
        after.conflicts.len(),
        1,
        "an unchanged field keeps its conflict"
    );

    // A later sync under keep_local keeps Salem and shows Clio's Boston.
    let clio = fields(&[(City, "Boston"), (LastName, "Smith")]);
    let merged = merge(
        &after.fields,
        &after.edited,
        &clio,
        ConflictPolicy::KeepLocal,
    );
    assert_eq!(merged.fields[&City], "Salem");
    assert_eq!(merged.conflicts[0].field, City);

    let synced = Sides {
        fields: merged.fields,
        edited: merged.edited,
        conflicts: merged.conflicts,
    };
    let (accepted, changed) = accept(&synced, &[City].into());
    assert_eq!(accepted.fields[&City], "Boston");
    assert!(accepted.conflicts.is_empty() && accepted.edited.is_empty());
    assert_eq!(
        changed,
        vec![(City, Some("Salem".into()), Some("Boston".into()))]
    );
}
