//! The console's page frame: one stylesheet inline, a navigation bar, the signed-in admin and a
//! logout button. Every page works as plain HTML forms and links; the one line of script (the
//! list's "select all" box) is a convenience.

use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};

use super::session::ConsoleAdmin;

const STYLE: &str = r#"
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d2430; background: #f6f7f9; }
header { background: #1d2430; color: #fff; padding: 10px 24px; display: flex; gap: 20px; align-items: center; }
header a { color: #cfe0ff; text-decoration: none; } header a.here { color: #fff; font-weight: 600; }
header .who { margin-left: auto; color: #aab4c4; } header form { display: inline; }
main { padding: 16px 24px; max-width: 1400px; }
h1 { font-size: 20px; margin: 8px 0 14px; } h2 { font-size: 16px; margin: 20px 0 8px; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e3e6eb; vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #fff; border: 1px solid #e3e6eb; padding: 10px; overflow: auto; max-height: 420px; }
form.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: end; background: #fff; padding: 10px; border: 1px solid #e3e6eb; margin-bottom: 12px; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: #556; }
input, select, button { font: inherit; padding: 4px 6px; }
button { cursor: pointer; border: 1px solid #8a97ab; background: #fff; border-radius: 3px; }
button.primary { background: #1f5fbf; color: #fff; border-color: #1f5fbf; }
button.danger { background: #b3261e; color: #fff; border-color: #b3261e; }
.notice { background: #e6f4ea; border: 1px solid #9bd0a9; padding: 8px 12px; margin-bottom: 12px; }
.error { background: #fdecea; border: 1px solid #f0a9a4; padding: 8px 12px; }
.muted { color: #6b7585; } .state-dead { color: #b3261e; font-weight: 600; }
.state-replayed { color: #1e7b34; } .state-discarded { color: #6b7585; }
dl.facts { display: grid; grid-template-columns: 180px 1fr; gap: 4px 12px; background: #fff; padding: 10px; border: 1px solid #e3e6eb; }
dl.facts dt { color: #556; } dl.facts dd { margin: 0; }
.actions { display: flex; gap: 8px; margin: 10px 0; align-items: center; }
nav.paging { margin: 10px 0; display: flex; gap: 16px; }
"#;

/// The headers every console page carries: HTML, never cached (pages show live state and carry
/// the CSRF token), never framed by another site.
pub(crate) fn page_headers(response: &mut actix_web::HttpResponseBuilder) {
    use actix_web::http::header;
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .content_type("text/html; charset=utf-8");
}

/// Which page of the navigation is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    DeadLetters,
    Connections,
    Queues,
}

/// A console page: `title`, the navigation with `section` marked, the admin and `body`.
pub(crate) fn page(title: &str, section: Section, admin: &ConsoleAdmin, body: Markup) -> Markup {
    let link = |href: &str, label: &str, this: Section| {
        html! { a href=(href) class=[(section == this).then_some("here")] { (label) } }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · matterhook support" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { "matterhook support" }
                    (link("/console/dead-letters", "Dead letters", Section::DeadLetters))
                    (link("/console/connections", "Connections", Section::Connections))
                    (link("/console/queues", "Queues", Section::Queues))
                    span.who { (admin.email) }
                    form method="post" action="/console/logout" {
                        input type="hidden" name="csrf" value=(admin.csrf);
                        button type="submit" { "Sign out" }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A page outside the session: the login and the error pages.
pub(crate) fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) " · matterhook support" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                header { strong { "matterhook support" } }
                main { (body) }
            }
        }
    }
}

/// A time as support reads it: UTC to the second.
pub(crate) fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// An optional time, or a dash.
pub(crate) fn maybe_time(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "—".to_owned(), time)
}

/// A duration in words a person scans quickly: `42 s`, `7 min`, `3 h 5 min`, `2 d 4 h`.
pub(crate) fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::age;

    #[test]
    fn ages_read_in_the_largest_useful_units() {
        assert_eq!(age(-3), "0 s");
        assert_eq!(age(59), "59 s");
        assert_eq!(age(60), "1 min");
        assert_eq!(age(3_725), "1 h 2 min");
        assert_eq!(age(190_800), "2 d 5 h");
    }
}
