//! Matching a newly opened matter against one user's unlinked received referrals.

use std::collections::BTreeSet;

use super::keys;

/// What matching knows of a referral (its stored keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The referral.
    pub id: i64,
    /// `received`: only those are ever matched.
    pub received: bool,
    /// Whether it is already linked to a matter.
    pub linked: bool,
    /// Its client's [`keys::email_key`].
    pub email: Option<String>,
    /// Its client's [`keys::name_key`].
    pub name: Option<String>,
    /// Its client's [`keys::company_key`].
    pub company: Option<String>,
    /// The words of its client's first and last names.
    pub name_tokens: Vec<String>,
}

/// What matching knows of the matter's client (from the mirror).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    /// Every email of the client, as [`keys::email_key`].
    pub emails: Vec<String>,
    /// [`keys::name_key`] of the client.
    pub name: Option<String>,
    /// [`keys::company_key`] of the client's company (or of the client, when it is a company).
    pub company: Option<String>,
    /// The words of the client's name.
    pub name_tokens: Vec<String>,
}

impl Client {
    /// A person or company client from what Clio holds.
    pub fn new(
        emails: impl IntoIterator<Item = String>,
        first: Option<&str>,
        last: Option<&str>,
        full: Option<&str>,
        company: Option<&str>,
    ) -> Self {
        let mut emails: Vec<String> = emails
            .into_iter()
            .filter_map(|e| keys::email_key(&e))
            .collect();
        emails.sort();
        emails.dedup();
        let name = match (first, last) {
            (Some(f), Some(l)) => keys::name_key(f, l),
            _ => None,
        }
        .or_else(|| full.and_then(keys::full_name_key));
        let mut name_tokens: Vec<String> = [first, last, full]
            .into_iter()
            .flatten()
            .flat_map(keys::tokens)
            .collect();
        name_tokens.sort();
        name_tokens.dedup();
        Self {
            emails,
            name,
            company: company.and_then(keys::company_key),
            name_tokens,
        }
    }
}

/// What to do about a matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Exactly one referral's client email matches: link it, and tell the user it was linked.
    Link(i64),
    /// Possible matches: tell the user, offering a one-click confirm for each; link nothing.
    Suggest(Vec<i64>),
    /// No referral matches: do nothing at all.
    Nothing,
}

/// Decides for a matter whose client is `client` among `candidates` (any referrals: sent or
/// already linked ones are never matched).
pub fn decide(client: &Client, candidates: &[Candidate]) -> Decision {
    let open: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.received && !c.linked)
        .collect();
    let confident: Vec<i64> = open
        .iter()
        .filter(|c| c.email.as_ref().is_some_and(|e| client.emails.contains(e)))
        .map(|c| c.id)
        .collect();
    match confident.as_slice() {
        [one] => return Decision::Link(*one),
        [] => {}
        // Several referrals claim the same client: a person decides.
        _ => return Decision::Suggest(confident),
    }
    let tokens: BTreeSet<&String> = client.name_tokens.iter().collect();
    let possible: Vec<i64> = open
        .iter()
        .filter(|c| {
            let same_name = client.name.is_some() && c.name == client.name;
            let same_company = client.company.is_some()
                && c.company == client.company
                && c.name_tokens.iter().any(|t| tokens.contains(t));
            same_name || same_company
        })
        .map(|c| c.id)
        .collect();
    if possible.is_empty() {
        Decision::Nothing
    } else {
        Decision::Suggest(possible)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn referral(id: i64, email: &str, first: &str, last: &str, company: &str) -> Candidate {
        Candidate {
            id,
            received: true,
            linked: false,
            email: keys::email_key(email),
            name: keys::name_key(first, last),
            company: keys::company_key(company),
            name_tokens: keys::tokens(&format!("{first} {last}")),
        }
    }

    fn jane() -> Client {
        Client::new(
            ["Jane.Doe@Example.com ".to_owned()],
            Some("Jane"),
            Some("Doe"),
            Some("Jane Q. Doe"),
            Some("Acme Widgets, Inc."),
        )
    }

    #[test]
    fn the_same_email_links_whatever_its_case() {
        let r = referral(1, "jane.doe@example.com", "J", "D", "");
        assert_eq!(decide(&jane(), &[r]), Decision::Link(1));
    }

    #[test]
    fn a_name_alone_is_only_a_suggestion() {
        let r = referral(2, "other@example.com", "Jane", "Doe", "");
        assert_eq!(decide(&jane(), &[r]), Decision::Suggest(vec![2]));
        let accented = referral(3, "", "Jané Marie", "Doe", "");
        assert_eq!(decide(&jane(), &[accented]), Decision::Suggest(vec![3]));
    }

    #[test]
    fn a_company_with_a_shared_name_word_is_a_suggestion_without_one_nothing() {
        let shares = referral(4, "", "Janet", "Doe", "ACME Widgets LLC");
        assert_eq!(decide(&jane(), &[shares]), Decision::Suggest(vec![4]));
        let stranger = referral(5, "", "Bob", "Smith", "Acme Widgets");
        assert_eq!(decide(&jane(), &[stranger]), Decision::Nothing);
    }

    #[test]
    fn several_confident_candidates_are_all_suggested_never_guessed() {
        let a = referral(6, "jane.doe@example.com", "Jane", "Doe", "");
        let b = referral(7, "JANE.DOE@example.com", "J", "Doe", "");
        assert_eq!(decide(&jane(), &[a, b]), Decision::Suggest(vec![6, 7]));
    }

    #[test]
    fn sent_and_already_linked_referrals_are_never_matched() {
        let mut sent = referral(8, "jane.doe@example.com", "Jane", "Doe", "");
        sent.received = false;
        let mut linked = referral(9, "jane.doe@example.com", "Jane", "Doe", "");
        linked.linked = true;
        assert_eq!(decide(&jane(), &[sent, linked]), Decision::Nothing);
    }

    #[test]
    fn a_client_from_no_referral_matches_nothing() {
        let r = referral(10, "bob@example.com", "Bob", "Smith", "Northwind");
        assert_eq!(decide(&jane(), &[r]), Decision::Nothing);
        assert_eq!(decide(&jane(), &[]), Decision::Nothing);
        assert_eq!(
            decide(&Client::default(), &[referral(11, "", "", "", "")]),
            Decision::Nothing
        );
    }

    #[test]
    fn one_confident_link_wins_over_name_suggestions() {
        let by_email = referral(12, "jane.doe@example.com", "J", "D", "");
        let by_name = referral(13, "", "Jane", "Doe", "");
        assert_eq!(decide(&jane(), &[by_email, by_name]), Decision::Link(12));
    }
}
