//! Cursor paging for the API's lists: the cursor is the last id of the previous page.

use crate::error::ApiError;

/// The id a page starts after: 0 without a cursor.
pub(crate) fn after(cursor: Option<&str>) -> Result<i64, ApiError> {
    match cursor {
        None => Ok(0),
        Some(c) => c
            .parse::<i64>()
            .ok()
            .filter(|c| *c >= 0)
            .ok_or_else(|| ApiError::BadRequest("cursor is not one we gave".into())),
    }
}

/// The page size asked for: 1 to 500, 100 by default.
pub(crate) fn limit(asked: Option<i64>) -> Result<i64, ApiError> {
    let limit = asked.unwrap_or(100);
    if (1..=500).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::BadRequest("limit must be 1 to 500".into()))
    }
}

/// A page from up to `limit + 1` rows (read one more than shown, to know whether another page
/// follows): the rows shown, and the cursor of the next page when there is one.
pub(crate) fn page<T>(
    mut rows: Vec<T>,
    limit: i64,
    id: impl Fn(&T) -> i64,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = more
        .then(|| rows.last().map(|r| id(r).to_string()))
        .flatten();
    (rows, next)
}
