//! Index answers: query parameters, `limit`, and cursor paging with `page_token`.

use actix_web::{HttpRequest, HttpResponse};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::errors::{argument_error, ApiError, Reply};
use crate::{schema::Selection, state::Json};

/// The decoded query string, in order, repeated keys kept.
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub fn of(req: &HttpRequest) -> Self {
        Self(
            url::form_urlencoded::parse(req.query_string().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// An integer parameter; a malformed one is a 422.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        self.get(key)
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| argument_error(format!("{key} must be an integer")))
            })
            .transpose()
    }

    /// `ids[]` (also accepted as `ids`).
    pub fn ids(&self) -> Result<Option<Vec<i64>>, ApiError> {
        let raw: Vec<&str> = self
            .all("ids[]")
            .into_iter()
            .chain(self.all("ids"))
            .collect();
        if raw.is_empty() {
            return Ok(None);
        }
        raw.iter()
            .flat_map(|v| v.split(','))
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| argument_error("ids[] must be integers"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// An ISO-8601 time parameter; a malformed one is a 422.
    pub fn time(&self, key: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        self.get(key)
            .map(|v| {
                DateTime::parse_from_rfc3339(v.trim())
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| argument_error(format!("{key} must be an ISO-8601 time")))
            })
            .transpose()
    }
}

/// Whether a rendered record's timestamp field is at or after `since`.
pub(crate) fn since(record: &Json, field: &str, since: Option<DateTime<Utc>>) -> bool {
    let Some(since) = since else { return true };
    record
        .get(field)
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .is_some_and(|t| t >= since)
}

/// One page of `items` (sorted by id, already filtered), projected through `selection`, with
/// `meta.paging.next` when more remain.
pub(crate) fn page(
    req: &HttpRequest,
    params: &Params,
    items: Vec<(i64, Json)>,
    selection: &Selection,
    max_limit: i64,
) -> Reply {
    let limit = params.int("limit")?.unwrap_or(max_limit.min(200));
    if !(1..=max_limit).contains(&limit) {
        return Err(argument_error(format!(
            "limit must be between 1 and {max_limit}"
        )));
    }
    let after = match params.get("page_token").map(decode_token).transpose() {
        Ok(a) => a.unwrap_or(i64::MIN),
        Err(()) => return Err(argument_error("page_token is not valid")),
    };
    let mut rest = items.into_iter().filter(|(id, _)| *id > after);
    let data: Vec<(i64, Json)> = rest.by_ref().take(limit as usize).collect();
    let more = rest.next().is_some();
    let mut meta = json!({"records": data.len(), "paging": {}});
    if let (true, Some((last, _))) = (more, data.last()) {
        meta["paging"]["next"] = json!(next_url(req, params, *last));
    }
    let data: Vec<Value> = data.iter().map(|(_, r)| selection.project(r)).collect();
    Ok(HttpResponse::Ok().json(json!({"data": data, "meta": meta})))
}

fn encode_token(last_id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("after:{last_id}"))
}

fn decode_token(token: &str) -> Result<i64, ()> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| ())?;
    let text = String::from_utf8(bytes).map_err(|_| ())?;
    text.strip_prefix("after:")
        .and_then(|n| n.parse().ok())
        .ok_or(())
}

fn next_url(req: &HttpRequest, params: &Params, last_id: i64) -> String {
    let info = req.connection_info();
    let mut url = url::Url::parse(&format!(
        "{}://{}{}",
        info.scheme(),
        info.host(),
        req.path()
    ))
    .unwrap_or_else(|_| url::Url::parse("http://invalid/").expect("constant URL"));
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params.0.iter().filter(|(k, _)| k != "page_token") {
            q.append_pair(k, v);
        }
        q.append_pair("page_token", &encode_token(last_id));
    }
    url.to_string()
}
