//! The thank-you draft a paid bill queues for the referring partner. Drafts are never sent by the
//! system: the user approves or dismisses each.

/// A referral's commission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commission {
    /// A fixed amount, in cents.
    Amount(i64),
    /// A share of what is billed, in basis points (1/100 of a percent).
    Percentage(i64),
}

/// The facts a draft mentions.
#[derive(Debug, Clone)]
pub struct Paid<'a> {
    /// The referring partner's name.
    pub partner_name: &'a str,
    /// The client's name.
    pub client_name: &'a str,
    /// The matter's number, when known.
    pub matter: Option<&'a str>,
    /// The bill's total, in cents.
    pub bill_total_cents: Option<i64>,
    /// The bill's number, when Clio gave one.
    pub bill_number: Option<&'a str>,
    /// The matter's bills paid before this one, when there were any.
    pub earlier: Option<Earlier>,
    /// The referral's commission.
    pub commission: Option<Commission>,
}

/// Bills of the same matter paid before this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Earlier {
    /// How many.
    pub bills: usize,
    /// Their total, in cents.
    pub total_cents: i64,
}

/// A draft message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// Subject line.
    pub subject: String,
    /// Body text.
    pub body: String,
}

fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}${grouped}.{:02}", cents % 100)
}

/// The commission line: what is owed, when it can be told.
fn commission_line(paid: &Paid<'_>) -> Option<String> {
    match paid.commission? {
        Commission::Amount(cents) => Some(format!(
            "As agreed, your referral commission of {} is on its way.",
            money(cents)
        )),
        Commission::Percentage(bp) => {
            let pct = format!("{}.{:02}", bp / 100, bp % 100);
            let pct = pct.trim_end_matches('0').trim_end_matches('.');
            Some(match paid.bill_total_cents {
                Some(total) => format!(
                    "As agreed, your referral commission of {pct}% of the {} billed comes to {}.",
                    money(total),
                    money((total * bp + 5_000) / 10_000)
                ),
                None => {
                    format!("As agreed, your referral commission is {pct}% of what was billed.")
                }
            })
        }
    }
}

/// The thank-you draft for a paid bill.
pub fn thank_you(paid: &Paid<'_>) -> Draft {
    let about = paid
        .matter
        .map_or_else(String::new, |m| format!(" (matter {m})"));
    let bill = paid
        .bill_number
        .map_or_else(|| "a bill".to_owned(), |n| format!("bill {n}"));
    let mut body = format!(
        "Dear {},\n\nThank you for referring {} to us. We are glad to let you know that \
         {bill}{about} has been paid.",
        paid.partner_name, paid.client_name
    );
    if let Some(earlier) = paid.earlier.filter(|e| e.bills > 0) {
        let so_far = earlier.total_cents + paid.bill_total_cents.unwrap_or(0);
        let plural = if earlier.bills == 1 { "" } else { "s" };
        body.push_str(&format!(
            " With the {} bill{plural} paid before it, {} has been paid on the matter so far.",
            earlier.bills,
            money(so_far)
        ));
    }
    if let Some(line) = commission_line(paid) {
        body.push(' ');
        body.push_str(&line);
    }
    body.push_str("\n\nWith thanks,");
    Draft {
        subject: format!("Thank you for referring {}", paid.client_name),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paid(commission: Option<Commission>) -> Paid<'static> {
        Paid {
            partner_name: "Priya Shah",
            client_name: "Jane Doe",
            matter: Some("00012-Doe"),
            bill_total_cents: Some(1_234_500),
            bill_number: Some("7"),
            earlier: None,
            commission,
        }
    }

    #[test]
    fn a_draft_names_its_bill_and_a_later_one_the_running_total() {
        let first = thank_you(&paid(None));
        assert!(
            first
                .body
                .contains("that bill 7 (matter 00012-Doe) has been paid."),
            "{}",
            first.body
        );
        assert!(!first.body.contains("so far"));
        let second = thank_you(&Paid {
            bill_number: Some("8"),
            bill_total_cents: Some(100_000),
            earlier: Some(Earlier {
                bills: 1,
                total_cents: 1_234_500,
            }),
            ..paid(None)
        });
        assert!(second.body.contains("that bill 8 (matter 00012-Doe)"));
        assert!(
            second.body.contains(
                "With the 1 bill paid before it, $13,345.00 has been paid on the matter so far."
            ),
            "{}",
            second.body
        );
        let unnumbered = thank_you(&Paid {
            bill_number: None,
            ..paid(None)
        });
        assert!(unnumbered
            .body
            .contains("that a bill (matter 00012-Doe) has been paid"));
    }

    #[test]
    fn a_draft_thanks_the_partner_and_names_the_client() {
        let d = thank_you(&paid(None));
        assert_eq!(d.subject, "Thank you for referring Jane Doe");
        assert!(d.body.starts_with("Dear Priya Shah,"));
        assert!(d.body.contains("(matter 00012-Doe)"));
        assert!(!d.body.contains("commission"));
    }

    #[test]
    fn a_commission_is_mentioned_as_an_amount_or_a_share() {
        let fixed = thank_you(&paid(Some(Commission::Amount(50_000))));
        assert!(
            fixed.body.contains("commission of $500.00"),
            "{}",
            fixed.body
        );
        let share = thank_you(&paid(Some(Commission::Percentage(1_000))));
        assert!(
            share
                .body
                .contains("10% of the $12,345.00 billed comes to $1,234.50"),
            "{}",
            share.body
        );
        let odd = thank_you(&paid(Some(Commission::Percentage(1_250))));
        assert!(odd.body.contains("12.5%"), "{}", odd.body);
    }

    #[test]
    fn money_is_grouped_and_signed() {
        assert_eq!(money(0), "$0.00");
        assert_eq!(money(123_456_789), "$1,234,567.89");
        assert_eq!(money(-1_050), "-$10.50");
    }
}
