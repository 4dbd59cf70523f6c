//! Normalised keys for matching, stored beside each referral and indexed, so matching one matter
//! among a million referrals is a few index lookups, not a scan.

use crate::contact_points::normalise_email;

/// An email as matching compares it: trimmed and lower-cased.
pub fn email_key(raw: &str) -> Option<String> {
    normalise_email(raw)
}

/// The words of a name or company: accents transliterated, lower case, punctuation dropped.
/// `"María-José O'Neil"` is `["maria", "jose", "oneil"]`.
pub fn tokens(raw: &str) -> Vec<String> {
    let ascii = deunicode::deunicode(raw).to_lowercase();
    ascii
        .split(|c: char| c.is_whitespace() || c == '-' || c == '/' || c == ',' || c == '&')
        .map(|w| {
            w.chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The name key of a person: first word of the first name and last word of the last name, so
/// middle names and initials do not matter. `None` unless both are present.
pub fn name_key(first: &str, last: &str) -> Option<String> {
    let first = tokens(first).into_iter().next()?;
    let last = tokens(last).into_iter().last()?;
    Some(format!("{first} {last}"))
}

/// The name key of a full name (`"Jane Q. Doe"` is `"jane doe"`): its first and last words.
pub fn full_name_key(full: &str) -> Option<String> {
    let words = tokens(full);
    match words.as_slice() {
        [first, .., last] => Some(format!("{first} {last}")),
        _ => None,
    }
}

/// Legal forms dropped from company names before comparing.
const LEGAL_FORMS: [&str; 14] = [
    "inc",
    "incorporated",
    "llc",
    "llp",
    "ltd",
    "limited",
    "corp",
    "corporation",
    "co",
    "company",
    "plc",
    "gmbh",
    "pc",
    "pllc",
];

/// A company as matching compares it: its words without legal forms or a leading "the".
/// `"The Northwind Traders, Inc."` is `"northwind traders"`.
pub fn company_key(raw: &str) -> Option<String> {
    let mut words = tokens(raw);
    if words.first().is_some_and(|w| w == "the") {
        words.remove(0);
    }
    words.retain(|w| !LEGAL_FORMS.contains(&w.as_str()));
    (!words.is_empty()).then(|| words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ignore_case_accents_punctuation_middle_names_and_initials() {
        let key = Some("jose garcia".to_owned());
        assert_eq!(name_key("José", "García"), key);
        assert_eq!(name_key("  JOSE ", "garcia"), key);
        assert_eq!(name_key("José Luis", "García"), key);
        assert_eq!(full_name_key("José L. García"), key);
        assert_eq!(full_name_key("Jose Luis Garcia"), key);
        assert_eq!(full_name_key("García"), None);
        assert_eq!(name_key("", "Garcia"), None);
        assert_eq!(full_name_key("Mary-Jane O'Neil"), Some("mary oneil".into()));
        assert_eq!(name_key("Mary-Jane", "O’Neil"), Some("mary oneil".into()));
    }

    #[test]
    fn companies_ignore_legal_forms_and_a_leading_the() {
        let key = Some("northwind traders".to_owned());
        assert_eq!(company_key("Northwind Traders"), key);
        assert_eq!(company_key("The Northwind Traders, Inc."), key);
        assert_eq!(company_key("NORTHWIND TRADERS LLC"), key);
        assert_eq!(company_key("Inc."), None);
        assert_ne!(company_key("Northwind"), key);
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            email_key(" Jane@Example.COM"),
            Some("jane@example.com".into())
        );
        assert_eq!(email_key("not an email"), None);
    }
}
