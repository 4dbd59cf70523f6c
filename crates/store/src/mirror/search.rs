//! Finding mirrored matters for a person: by text, by client, most recent.

use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::MatterRow;
use crate::schema::clio_matters as m;

/// Escapes `%`, `_` and `\` for a LIKE pattern.
fn like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Live matters of these firms whose number, client name or client email contains `q` (any
/// case), most recently changed first.
pub async fn search_matters(
    conn: &mut AsyncPgConnection,
    accounts: &[i64],
    q: &str,
    limit: i64,
) -> QueryResult<Vec<MatterRow>> {
    let pattern = like(q.trim());
    m::table
        .filter(m::clio_account_id.eq_any(accounts))
        .filter(m::deleted_at.is_null())
        .filter(
            m::display_number
                .ilike(pattern.clone())
                .or(m::client_name.ilike(pattern.clone()))
                .or(m::client_email.ilike(pattern)),
        )
        .order(m::clio_updated_at.desc().nulls_last())
        .limit(limit)
        .select(MatterRow::as_select())
        .load(conn)
        .await
}

/// Live matters of these firms whose client has this (normalised) email, or whose client name
/// contains both of these words.
pub async fn matters_for_client(
    conn: &mut AsyncPgConnection,
    accounts: &[i64],
    email: Option<&str>,
    first_and_last: Option<(&str, &str)>,
    limit: i64,
) -> QueryResult<Vec<MatterRow>> {
    let mut found = Vec::new();
    if let Some(email) = email {
        found.extend(
            m::table
                .filter(m::clio_account_id.eq_any(accounts))
                .filter(m::deleted_at.is_null())
                .filter(m::client_email.eq(email))
                .order(m::clio_updated_at.desc().nulls_last())
                .limit(limit)
                .select(MatterRow::as_select())
                .load(conn)
                .await?,
        );
    }
    if let Some((first, last)) = first_and_last {
        found.extend(
            m::table
                .filter(m::clio_account_id.eq_any(accounts))
                .filter(m::deleted_at.is_null())
                .filter(m::client_name.ilike(like(first)))
                .filter(m::client_name.ilike(like(last)))
                .order(m::clio_updated_at.desc().nulls_last())
                .limit(limit)
                .select(MatterRow::as_select())
                .load(conn)
                .await?,
        );
    }
    let mut seen = std::collections::HashSet::new();
    found.retain(|x| seen.insert((x.clio_account_id, x.clio_id)));
    found.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(found)
}

/// The most recently changed live matters of these firms.
pub async fn recent_matters(
    conn: &mut AsyncPgConnection,
    accounts: &[i64],
    limit: i64,
) -> QueryResult<Vec<MatterRow>> {
    m::table
        .filter(m::clio_account_id.eq_any(accounts))
        .filter(m::deleted_at.is_null())
        .order(m::clio_updated_at.desc().nulls_last())
        .limit(limit)
        .select(MatterRow::as_select())
        .load(conn)
        .await
}

/// The mirrored matters with these (firm, Clio id) keys, deleted ones included (a link keeps
/// showing what its matter was): what a list of linked referrals shows of each matter.
pub async fn matters_by_keys(
    conn: &mut AsyncPgConnection,
    keys: &[(i64, i64)],
) -> QueryResult<Vec<MatterRow>> {
    let mut by_account: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
    for (account, id) in keys {
        by_account.entry(*account).or_default().push(*id);
    }
    let mut rows = Vec::new();
    for (account, ids) in by_account {
        rows.extend(
            m::table
                .filter(m::clio_account_id.eq(account))
                .filter(m::clio_id.eq_any(ids))
                .select(MatterRow::as_select())
                .load(conn)
                .await?,
        );
    }
    Ok(rows)
}

/// A page of the firm's live matters for the matter browser, newest (highest Clio id) first,
/// below `before`: those whose number, description or client name contains `q` (any case), in
/// `status` when given.
pub async fn browse_matters(
    conn: &mut AsyncPgConnection,
    account: i64,
    q: Option<&str>,
    status: Option<matterhook_domain::MatterStatus>,
    before: i64,
    limit: i64,
) -> QueryResult<Vec<MatterRow>> {
    let mut query = m::table
        .filter(m::clio_account_id.eq(account))
        .filter(m::deleted_at.is_null())
        .filter(m::clio_id.lt(before))
        .into_boxed();
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = like(q);
        query = query.filter(
            m::display_number
                .ilike(pattern.clone())
                .or(m::description.ilike(pattern.clone()))
                .or(m::client_name.ilike(pattern)),
        );
    }
    if let Some(status) = status {
        query = query.filter(m::status.eq(status));
    }
    query
        .order(m::clio_id.desc())
        .limit(limit)
        .select(MatterRow::as_select())
        .load(conn)
        .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(super::like("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
