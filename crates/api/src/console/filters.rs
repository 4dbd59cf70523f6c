//! The dead-letter list's filters as the console's forms and links carry them: text fields,
//! empty meaning "any", read into the store's [`Filter`] with a clear message for what does not
//! parse.

use chrono::{DateTime, NaiveDateTime, Utc};
use matterhook_store::dead_letters::{state_param, Filter};
use maud::{html, Markup};
use serde::Deserialize;

use super::form::Fields;

/// The filter fields, as a query string or a form sends them.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct FilterParams {
    /// `dead` (default), `replayed`, `discarded` or `all`.
    pub state: Option<String>,
    /// The queue that failed.
    pub queue: Option<String>,
    /// Text the reason or error chain contains.
    pub reason: Option<String>,
    /// The connection id.
    pub connection: Option<String>,
    /// Last failure at or after (UTC).
    pub since: Option<String>,
    /// Last failure before (UTC).
    pub until: Option<String>,
}

/// The fields' names, in the order forms and links write them.
const NAMES: [&str; 6] = ["state", "queue", "reason", "connection", "since", "until"];

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A time as the form's `datetime-local` field gives it (`2026-11-29T10:18`, read as UTC), or
/// RFC 3339.
fn parse_time(field: &str, raw: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())
    .map(|t| t.and_utc())
    .ok_or_else(|| format!("{field} must be a time like 2026-11-29T10:18 (UTC), not {raw:?}"))
}

impl FilterParams {
    /// The same fields from a posted form.
    pub(crate) fn from_form(form: &Fields) -> Self {
        let get = |name: &str| form.one(name).map(str::to_owned);
        Self {
            state: get("state"),
            queue: get("queue"),
            reason: get("reason"),
            connection: get("connection"),
            since: get("since"),
            until: get("until"),
        }
    }

    fn values(&self) -> [(&'static str, Option<&str>); 6] {
        let v = [
            &self.state,
            &self.queue,
            &self.reason,
            &self.connection,
            &self.since,
            &self.until,
        ];
        std::array::from_fn(|i| (NAMES[i], present(v[i])))
    }

    /// The store's filter; a field that does not parse is named in the error.
    pub(crate) fn filter(&self) -> Result<Filter, String> {
        let connection_id = present(&self.connection)
            .map(|c| {
                c.parse::<i64>()
                    .map_err(|_| format!("connection must be a connection id, not {c:?}"))
            })
            .transpose()?;
        let since = present(&self.since)
            .map(|t| parse_time("since", t))
            .transpose()?;
        let until = present(&self.until)
            .map(|t| parse_time("until", t))
            .transpose()?;
        let reason = present(&self.reason);
        if reason.is_some_and(|r| r.chars().count() > 200) {
            return Err("reason text is at most 200 characters".into());
        }
        Ok(Filter {
            state: state_param(present(&self.state))?,
            queue: present(&self.queue).map(str::to_owned),
            connection_id,
            text: reason.map(str::to_owned),
            since,
            until,
            ..Filter::default()
        })
    }

    /// The non-empty fields as a query string (`state=dead&reason=locked`), for links that keep
    /// the filter.
    pub(crate) fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in self.values() {
            if let Some(value) = value {
                q.append_pair(name, value);
            }
        }
        q.finish()
    }

    /// `path` with the filter's query string and `extra` (`a=1&b=2`, may be empty) after it:
    /// the links and redirects that keep the filter.
    pub(crate) fn url(&self, path: &str, extra: &str) -> String {
        let query = self.query();
        match (query.is_empty(), extra.is_empty()) {
            (true, true) => path.to_owned(),
            (true, false) => format!("{path}?{extra}"),
            (false, true) => format!("{path}?{query}"),
            (false, false) => format!("{path}?{query}&{extra}"),
        }
    }

    /// The non-empty fields as hidden inputs, for forms that act on the filter.
    pub(crate) fn hidden(&self) -> Markup {
        html! {
            @for (name, value) in self.values() {
                @if let Some(value) = value { input type="hidden" name=(name) value=(value); }
            }
        }
    }

    /// A line saying what the filter is, for confirmation pages.
    pub(crate) fn describe(&self) -> String {
        let parts: Vec<String> = self
            .values()
            .into_iter()
            .filter_map(|(name, v)| v.map(|v| format!("{name} = {v}")))
            .collect();
        if parts.is_empty() {
            "state = dead".into()
        } else {
            parts.join(", ")
        }
    }

    /// The value of a field for the form (empty when absent).
    pub(crate) fn field(&self, name: &str) -> &str {
        self.values()
            .into_iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v)
            .unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use matterhook_domain::DeadLetterState;

    fn params(pairs: &[(&str, &str)]) -> FilterParams {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        FilterParams::from_form(&Fields::parse(body.as_bytes()))
    }

    #[test]
    fn empty_fields_mean_any_and_the_state_defaults_to_dead() {
        let f = params(&[("queue", ""), ("reason", "  ")])
            .filter()
            .expect("filter");
        assert_eq!(f.state, Some(DeadLetterState::Dead));
        assert_eq!(f.queue, None);
        assert_eq!(f.text, None);
        assert_eq!(
            params(&[("state", "all")]).filter().expect("all").state,
            None
        );
    }

    #[test]
    fn times_from_the_form_are_utc_and_bad_ones_are_named() {
        let f = params(&[
            ("since", "2026-11-29T10:18"),
            ("until", "2026-11-30T00:00:00Z"),
        ])
        .filter()
        .expect("filter");
        assert_eq!(
            f.since.expect("since").to_rfc3339(),
            "2026-11-29T10:18:00+00:00"
        );
        assert!(f.until.is_some());
        let err = params(&[("since", "yesterday")])
            .filter()
            .expect_err("refused");
        assert!(err.contains("since"), "{err}");
        let err = params(&[("connection", "7x")])
            .filter()
            .expect_err("refused");
        assert!(err.contains("connection"), "{err}");
        let err = params(&[("state", "lost")]).filter().expect_err("refused");
        assert!(err.contains("state"), "{err}");
    }

    #[test]
    fn the_query_string_keeps_only_what_was_given() {
        let p = params(&[("reason", "a&b"), ("queue", ""), ("connection", "7")]);
        assert_eq!(p.query(), "reason=a%26b&connection=7");
        assert_eq!(p.describe(), "reason = a&b, connection = 7");
        assert_eq!(p.url("/l", "n=1"), "/l?reason=a%26b&connection=7&n=1");
        assert_eq!(p.url("/l", ""), "/l?reason=a%26b&connection=7");
        assert_eq!(FilterParams::default().url("/l", "n=1"), "/l?n=1");
        assert_eq!(FilterParams::default().url("/l", ""), "/l");
    }
}
