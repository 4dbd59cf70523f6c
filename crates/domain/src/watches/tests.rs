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
