//! What the API does with a user's referrals. Every input is validated here; a refusal changes
//! nothing.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use matterhook_domain::{
    referrals::{keys, status::ReferralStatus},
    Direction,
};
use matterhook_store::{
    connections, mirror,
    referrals::{self, NewReferral, Referral, TimelineEntry},
    suggestions::{self, Suggestion},
};
use serde::Deserialize;

/// Why a request about a referral was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReferralError {
    /// The input is not acceptable; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// No such referral of this user.
    #[error("no such referral")]
    NotFound,
    /// No such matter in the user's connected firms' mirror.
    #[error("no such matter in your connected Clio accounts")]
    NoSuchMatter,
    /// Only received referrals are linked to matters.
    #[error("only received referrals can be linked to a matter")]
    NotReceived,
    /// The referral is linked to another matter; unlink it first.
    #[error("the referral is already linked to another matter; unlink it first")]
    AlreadyLinked,
    /// The suggestion was already confirmed, dismissed or superseded.
    #[error("this suggestion was already decided")]
    AlreadyDecided,
    /// The store failed.
    #[error("database")]
    Database(#[from] diesel::result::Error),
}

/// A commission as the API takes it: an amount (`"500.00"`) or a percentage (`"10"`, `"12.5"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommissionInput {
    /// `amount` or `percentage`.
    pub kind: String,
    /// A decimal number, at most two decimals.
    pub value: String,
}

/// A referral as the API takes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralInput {
    /// `received` or `sent`.
    pub direction: String,
    /// The partner who referred the client (or to whom we referred them).
    pub partner_name: String,
    /// Their email.
    #[serde(default)]
    pub partner_email: Option<String>,
    /// The client's first name.
    #[serde(default)]
    pub client_first_name: Option<String>,
    /// The client's last name.
    #[serde(default)]
    pub client_last_name: Option<String>,
    /// The client's email.
    #[serde(default)]
    pub client_email: Option<String>,
    /// The client's company.
    #[serde(default)]
    pub client_company: Option<String>,
    /// The commission agreed, if any.
    #[serde(default)]
    pub commission: Option<CommissionInput>,
}

const MAX_TEXT: usize = 200;

fn text(field: &str, v: Option<String>) -> Result<Option<String>, ReferralError> {
    let Some(v) = v else { return Ok(None) };
    let v = v.trim().to_owned();
    if v.chars().count() > MAX_TEXT || v.chars().any(char::is_control) {
        return Err(ReferralError::Invalid(format!(
            "{field} must be at most {MAX_TEXT} characters of text"
        )));
    }
    Ok((!v.is_empty()).then_some(v))
}

fn email(field: &str, v: Option<String>) -> Result<Option<String>, ReferralError> {
    match text(field, v)? {
        None => Ok(None),
        Some(raw) => keys::email_key(&raw)
            .map(Some)
            .ok_or_else(|| ReferralError::Invalid(format!("{field} is not an email address"))),
    }
}

/// Hundredths of a decimal string with at most two decimals: `"12.5"` is 1250.
fn hundredths(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || whole.len() > 12
    {
        return None;
    }
    let frac = format!("{frac:0<2}");
    Some(whole.parse::<i64>().ok()? * 100 + frac.parse::<i64>().ok()?)
}

fn commission(c: Option<CommissionInput>) -> Result<(Option<i64>, Option<i32>), ReferralError> {
    let Some(c) = c else { return Ok((None, None)) };
    let value = hundredths(&c.value).ok_or_else(|| {
        ReferralError::Invalid(
            "commission.value must be a non-negative number with at most two decimals".into(),
        )
    })?;
    match c.kind.as_str() {
        "amount" => Ok((Some(value), None)),
        "percentage" if value <= 10_000 => Ok((None, Some(value as i32))),
        "percentage" => Err(ReferralError::Invalid(
            "commission.value of a percentage is at most 100".into(),
        )),
        _ => Err(ReferralError::Invalid(
            "commission.kind must be amount or percentage".into(),
        )),
    }
}

/// Validates a referral and computes its matching keys.
pub fn validate(user_id: i64, input: ReferralInput) -> Result<NewReferral, ReferralError> {
    let direction = Direction::parse(&input.direction)
        .map_err(|_| ReferralError::Invalid("direction must be received or sent".into()))?;
    let partner_name = text("partner_name", Some(input.partner_name))?
        .ok_or_else(|| ReferralError::Invalid("partner_name is required".into()))?;
    let partner_email = email("partner_email", input.partner_email)?;
    let first = text("client_first_name", input.client_first_name)?;
    let last = text("client_last_name", input.client_last_name)?;
    let client_email = email("client_email", input.client_email)?;
    let company = text("client_company", input.client_company)?;
    if first.is_none() && last.is_none() && client_email.is_none() && company.is_none() {
        return Err(ReferralError::Invalid(
            "a referral needs the client's name, email or company".into(),
        ));
    }
    let (commission_cents, commission_bp) = commission(input.commission)?;
    let name_key = match (&first, &last) {
        (Some(f), Some(l)) => keys::name_key(f, l),
        _ => None,
    };
    let name_tokens = [&first, &last]
        .into_iter()
        .flatten()
        .flat_map(|n| keys::tokens(n))
        .collect();
    Ok(NewReferral {
        user_id,
        direction,
        partner_name,
        partner_email,
        email_key: client_email.clone(),
        company_key: company.as_deref().and_then(keys::company_key),
        name_key,
        name_tokens,
        client_first_name: first,
        client_last_name: last,
        client_email,
        client_company: company,
        commission_cents,
        commission_bp,
    })
}

/// Creates a referral for `user_id`.
pub async fn create(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    input: ReferralInput,
) -> Result<Referral, ReferralError> {
    let new = validate(user_id, input)?;
    let created = referrals::create(conn, &new).await?;
    referrals::add_event(
        conn,
        created.id,
        "created",
        &format!("Referral {} {}", created.direction, created.partner_name),
    )
    .await?;
    Ok(created)
}

/// A referral with its timeline.
pub async fn detail(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    id: i64,
) -> Result<(Referral, Vec<TimelineEntry>), ReferralError> {
    let r = referrals::get(conn, user_id, id)
        .await?
        .ok_or(ReferralError::NotFound)?;
    let timeline = referrals::timeline(conn, id).await?;
    Ok((r, timeline))
}

/// Links a received referral to a matter of one of the user's connected firms, by hand; from
/// then on its status follows the matter's. Linking again to the same matter changes nothing.
pub async fn link(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    id: i64,
    matter_id: i64,
) -> Result<Referral, ReferralError> {
    let r = referrals::get(conn, user_id, id)
        .await?
        .ok_or(ReferralError::NotFound)?;
    if r.direction != Direction::Received {
        return Err(ReferralError::NotReceived);
    }
    let mut found = None;
    for account in connections::accounts_of_user(conn, user_id).await? {
        if let Some(m) = mirror::matter(conn, account, matter_id).await? {
            if m.deleted_at.is_none() {
                found = Some((account, m));
                break;
            }
        }
    }
    let (account, matter) = found.ok_or(ReferralError::NoSuchMatter)?;
    match r.matter_id {
        Some(m) if m == matter_id && r.clio_account_id == Some(account) => return Ok(r),
        Some(_) => return Err(ReferralError::AlreadyLinked),
        None => {}
    }
    if !referrals::link(conn, id, account, matter_id, "user").await? {
        return Err(ReferralError::AlreadyLinked);
    }
    let number = matter
        .display_number
        .unwrap_or_else(|| format!("#{matter_id}"));
    referrals::add_event(
        conn,
        id,
        "linked",
        &format!("Linked to matter {number} by hand"),
    )
    .await?;
    suggestions::settle_suggestions(conn, id).await?;
    crate::status::sync_status(conn, account, matter_id).await?;
    referrals::get(conn, user_id, id)
        .await?
        .ok_or(ReferralError::NotFound)
}

/// Sets a referral's status by hand (`open`, `won` or `lost`: a referral that did not become
/// work). A linked matter's later changes still apply; earlier ones do not undo this.
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    id: i64,
    status: &str,
) -> Result<Referral, ReferralError> {
    let to = ReferralStatus::parse(status)
        .map_err(|_| ReferralError::Invalid("status must be open, won or lost".into()))?;
    let r = referrals::get(conn, user_id, id)
        .await?
        .ok_or(ReferralError::NotFound)?;
    if r.status != to {
        referrals::set_status(conn, id, to, chrono::Utc::now()).await?;
        referrals::add_event(
            conn,
            id,
            "status",
            &format!("Status changed to {} (by you)", to.as_str()),
        )
        .await?;
    }
    referrals::get(conn, user_id, id)
        .await?
        .ok_or(ReferralError::NotFound)
}

/// Confirms a suggestion of `user_id`'s: links its referral to its matter (one click), even
/// one dismissed before. Its other suggestions are superseded. All or nothing: a link refused
/// (the referral is linked elsewhere) records no decision.
pub async fn confirm_suggestion(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    suggestion_id: i64,
) -> Result<Referral, ReferralError> {
    conn.transaction::<_, ReferralError, _>(async |conn| {
        let s = suggestions::suggestion(conn, user_id, suggestion_id)
            .await?
            .ok_or(ReferralError::NotFound)?;
        suggestions::decide_suggestion(conn, &s, suggestions::CONFIRMED).await?;
        link(conn, user_id, s.referral_id, s.matter_id).await
    })
    .await
}

/// Dismisses a suggestion of `user_id`'s: the matter is not the referral's. It is not offered
/// again, and its notification is marked read; the referral stays unlinked and matchable.
pub async fn dismiss_suggestion(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    suggestion_id: i64,
) -> Result<Suggestion, ReferralError> {
    let s = suggestions::suggestion(conn, user_id, suggestion_id)
        .await?
        .ok_or(ReferralError::NotFound)?;
    if !suggestions::decide_suggestion(conn, &s, suggestions::DISMISSED).await? {
        return Err(ReferralError::AlreadyDecided);
    }
    suggestions::suggestion(conn, user_id, suggestion_id)
        .await?
        .ok_or(ReferralError::NotFound)
}

/// Removes a referral's link; the referral, its timeline and the matter stay.
pub async fn unlink(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    id: i64,
) -> Result<Referral, ReferralError> {
    let r = referrals::get(conn, user_id, id)
        .await?
        .ok_or(ReferralError::NotFound)?;
    if referrals::unlink(conn, id).await? {
        let matter = r.matter_id.map_or_else(String::new, |m| format!(" #{m}"));
        referrals::add_event(
            conn,
            id,
            "unlinked",
            &format!("Unlinked from matter{matter}"),
        )
        .await?;
    }
    referrals::get(conn, user_id, id)
        .await?
        .ok_or(ReferralError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ReferralInput {
        ReferralInput {
            direction: "received".into(),
            partner_name: " Priya Shah ".into(),
            partner_email: Some("Priya@Shah.example".into()),
            client_first_name: Some("Jane".into()),
            client_last_name: Some("Doe".into()),
            client_email: Some(" Jane@Example.com".into()),
            client_company: Some("Acme Inc.".into()),
            commission: Some(CommissionInput {
                kind: "percentage".into(),
                value: "12.5".into(),
            }),
        }
    }

    #[test]
    fn a_valid_referral_gets_its_keys() {
        let r = validate(1, input()).expect("valid");
        assert_eq!(r.partner_name, "Priya Shah");
        assert_eq!(r.email_key.as_deref(), Some("jane@example.com"));
        assert_eq!(r.name_key.as_deref(), Some("jane doe"));
        assert_eq!(r.company_key.as_deref(), Some("acme"));
        assert_eq!(r.commission_bp, Some(1250));
        assert_eq!(r.commission_cents, None);
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        type Change = Box<dyn Fn(&mut ReferralInput)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|i| i.direction = "both".into()), "direction"),
            (Box::new(|i| i.partner_name = "  ".into()), "partner_name"),
            (
                Box::new(|i| i.client_email = Some("nope".into())),
                "client_email",
            ),
            (
                Box::new(|i| i.partner_email = Some("a b@c".into())),
                "partner_email",
            ),
            (
                Box::new(|i| {
                    i.commission = Some(CommissionInput {
                        kind: "percentage".into(),
                        value: "101".into(),
                    })
                }),
                "at most 100",
            ),
            (
                Box::new(|i| {
                    i.commission = Some(CommissionInput {
                        kind: "amount".into(),
                        value: "-5".into(),
                    })
                }),
                "non-negative",
            ),
            (
                Box::new(|i| {
                    i.commission = Some(CommissionInput {
                        kind: "shares".into(),
                        value: "5".into(),
                    })
                }),
                "kind",
            ),
            (
                Box::new(|i| {
                    i.client_first_name = None;
                    i.client_last_name = None;
                    i.client_email = None;
                    i.client_company = None;
                }),
                "client",
            ),
            (
                Box::new(|i| i.client_company = Some("x".repeat(201))),
                "at most",
            ),
        ];
        for (change, words) in cases {
            let mut i = input();
            change(&mut i);
            match validate(1, i) {
                Err(ReferralError::Invalid(m)) => assert!(m.contains(words), "{m}"),
                other => panic!("expected a refusal naming {words}, got {other:?}"),
            }
        }
    }

    #[test]
    fn amounts_take_at_most_two_decimals() {
        assert_eq!(hundredths("500"), Some(50_000));
        assert_eq!(hundredths("500.5"), Some(50_050));
        assert_eq!(hundredths("0.05"), Some(5));
        assert_eq!(hundredths("1.005"), None);
        assert_eq!(hundredths("1e3"), None);
        assert_eq!(hundredths(""), None);
    }
}
