//! Emails and phone numbers, normalised for lookups.
//!
//! Clio keeps both as typed (`(555) 123-4567`, ` Jane@Example.COM `) and its own search does not
//! normalise phone digits, so matterhook indexes normalised forms of its own.

use std::str::FromStr;

use phonenumber::{country::Id as Country, Mode};

/// An email address lower-cased and trimmed, or `None` when it is not one (`a@b` at the least,
/// no inner whitespace).
pub fn normalise_email(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let well_formed = !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace);
    well_formed.then_some(email)
}

/// A phone number in the three forms lookups use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// `+15551234567`, when the number names its country or the country is known.
    pub e164: Option<String>,
    /// The national significant digits (`5551234567`); every digit typed when the country is
    /// unknown.
    pub national: String,
    /// The last four digits, for a partial match.
    pub last_four: String,
}

/// Normalises `raw`, reading it as a number of `country` unless it starts with `+` or `00`.
/// `None` when it holds fewer than four digits.
pub fn normalise_phone(raw: &str, country: Option<Country>) -> Option<Phone> {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 4 {
        return None;
    }
    let last_four = digits[digits.len() - 4..].to_owned();
    match parse_number(raw, country).filter(phonenumber::is_valid) {
        Some(number) => Some(Phone {
            e164: Some(number.format().mode(Mode::E164).to_string()),
            national: number.national().value().to_string(),
            last_four,
        }),
        None => Some(Phone {
            e164: None,
            national: digits,
            last_four,
        }),
    }
}

/// `raw` as the phone metadata parses it, valid or not: as an international number when it starts
/// with `+` or `00`, else as one of `country` (none without a country).
pub fn parse_number(raw: &str, country: Option<Country>) -> Option<phonenumber::PhoneNumber> {
    let trimmed = raw.trim_start();
    match trimmed.strip_prefix("00") {
        Some(rest) => phonenumber::parse(None, format!("+{rest}")).ok(),
        None if trimmed.starts_with('+') => phonenumber::parse(None, trimmed).ok(),
        None => country.and_then(|c| phonenumber::parse(Some(c), trimmed).ok()),
    }
}

/// The country a contact's address names (`US`, `United States`, `Canada`, ...), when we can
/// tell.
pub fn country_of(name: &str) -> Option<Country> {
    let name = name.trim();
    if let Ok(id) = Country::from_str(&name.to_ascii_uppercase()) {
        return Some(id);
    }
    let known = [
        ("united states", Country::US),
        ("united states of america", Country::US),
        ("usa", Country::US),
        ("canada", Country::CA),
        ("australia", Country::AU),
        ("united kingdom", Country::GB),
        ("great britain", Country::GB),
        ("ireland", Country::IE),
        ("new zealand", Country::NZ),
        ("france", Country::FR),
        ("germany", Country::DE),
        ("spain", Country::ES),
        ("netherlands", Country::NL),
    ];
    let lower = name.to_lowercase();
    known.iter().find(|(n, _)| *n == lower).map(|(_, id)| *id)
}

/// The country a Clio region implies, when it implies one (`eu` spans many).
pub fn country_of_region(region: &str) -> Option<Country> {
    match region {
        "us" => Some(Country::US),
        "ca" => Some(Country::CA),
        "au" => Some(Country::AU),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased_and_nonsense_refused() {
        assert_eq!(
            normalise_email("  Jane.Doe@Example.COM "),
            Some("jane.doe@example.com".into())
        );
        for bad in [
            "",
            "   ",
            "jane",
            "@example.com",
            "jane@",
            "ja ne@example.com",
            "a@b@c",
        ] {
            assert_eq!(normalise_email(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn us_numbers_in_any_spelling_share_their_forms() {
        let spellings = [
            "(415) 555-2671",
            "415.555.2671",
            "+1 415-555-2671",
            "001 415 555 2671",
            "1-415-555-2671",
        ];
        for s in spellings {
            let p = normalise_phone(s, Some(Country::US)).expect("a number");
            assert_eq!(p.e164.as_deref(), Some("+14155552671"), "{s}");
            assert_eq!(p.national, "4155552671", "{s}");
            assert_eq!(p.last_four, "2671", "{s}");
        }
    }

    #[test]
    fn an_international_number_ignores_the_default_country() {
        let p = normalise_phone("+44 20 7946 0958", Some(Country::US)).expect("a number");
        assert_eq!(p.e164.as_deref(), Some("+442079460958"));
        assert_eq!(p.national, "2079460958");
    }

    #[test]
    fn without_a_country_only_digits_are_kept() {
        let p = normalise_phone("(415) 555-2671", None).expect("a number");
        assert_eq!(p.e164, None);
        assert_eq!(p.national, "4155552671");
        assert_eq!(p.last_four, "2671");
    }

    #[test]
    fn an_invalid_number_keeps_its_digits_and_no_e164() {
        let p = normalise_phone("555-0100 ext", Some(Country::US)).expect("digits");
        assert_eq!(p.e164, None);
        assert_eq!(p.national, "5550100");
        assert_eq!(normalise_phone("12", Some(Country::US)), None);
        assert_eq!(normalise_phone("call me", None), None);
    }

    #[test]
    fn countries_by_code_or_name_and_by_region() {
        assert_eq!(country_of("US"), Some(Country::US));
        assert_eq!(country_of(" united states "), Some(Country::US));
        assert_eq!(country_of("Canada"), Some(Country::CA));
        assert_eq!(country_of("Atlantis"), None);
        assert_eq!(country_of_region("ca"), Some(Country::CA));
        assert_eq!(country_of_region("eu"), None);
    }
}
