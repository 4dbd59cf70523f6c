//! The thank-you draft a paid bill queues for the referring partner. Drafts are never sent by the
//! system: the user approves or dismisses each. Amounts are in the bill's currency.

use rust_decimal::Decimal;

use crate::money::{Currency, Money};

/// A referral's commission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commission {
    /// A fixed amount, in hundredths of the bills' currency unit (as entered: `500.00` is
    /// 50000), told in the paid bill's currency.
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
    /// The bill's currency.
    pub currency: Currency,
    /// The bill's total, in minor units of `currency`.
    pub bill_total: Option<i64>,
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
    /// Their total, in minor units of the bill's currency.
    pub total: i64,
}

/// A draft message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// Subject line.
    pub subject: String,
    /// Body text.
    pub body: String,
}

/// The commission line: what is owed, when it can be told.
fn commission_line(paid: &Paid<'_>) -> Option<String> {
    let money = |minor: i64| Money::new(minor, paid.currency.clone());
    match paid.commission? {
        Commission::Amount(hundredths) => {
            let amount = Money::from_decimal(Decimal::new(hundredths, 2), paid.currency.clone())?;
            Some(format!(
                "As agreed, your referral commission of {amount} is on its way."
            ))
        }
        Commission::Percentage(bp) => {
            let pct = format!("{}.{:02}", bp / 100, bp % 100);
            let pct = pct.trim_end_matches('0').trim_end_matches('.');
            Some(match paid.bill_total {
                Some(total) => format!(
                    "As agreed, your referral commission of {pct}% of the {} billed comes to {}.",
                    money(total),
                    money(total).share(bp)
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
        let so_far = Money::new(
            earlier.total.saturating_add(paid.bill_total.unwrap_or(0)),
            paid.currency.clone(),
        );
        let plural = if earlier.bills == 1 { "" } else { "s" };
        body.push_str(&format!(
            " With the {} bill{plural} paid before it, {} has been paid on the matter so far.",
            earlier.bills, so_far
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
            currency: Currency::usd(),
            bill_total: Some(1_234_500),
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
            bill_total: Some(100_000),
            earlier: Some(Earlier {
                bills: 1,
                total: 1_234_500,
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
    fn a_european_firms_draft_speaks_its_currency() {
        let eur = Currency::new("EUR", Some("€")).expect("euro");
        let d = thank_you(&Paid {
            currency: eur.clone(),
            bill_total: Some(250_075),
            earlier: Some(Earlier {
                bills: 2,
                total: 100_000,
            }),
            ..paid(Some(Commission::Percentage(1_000)))
        });
        assert!(!d.body.contains('$'), "{}", d.body);
        assert!(
            d.body
                .contains("10% of the €2,500.75 billed comes to €250.08"),
            "{}",
            d.body
        );
        assert!(d
            .body
            .contains("€3,500.75 has been paid on the matter so far"));
        let yen = thank_you(&Paid {
            currency: Currency::new("JPY", Some("¥")).expect("yen"),
            bill_total: Some(150_005),
            ..paid(Some(Commission::Amount(50_000)))
        });
        assert!(
            yen.body.contains("commission of ¥500 is on its way"),
            "{}",
            yen.body
        );
    }

    #[test]
    fn a_percentage_commission_rounds_half_cents_up_exactly() {
        // 10% of $123.45 is $12.345: half a cent, up. 10% of $123.44 is $12.344: down.
        for (total, owed) in [(12_345, "$12.35"), (12_344, "$12.34"), (5, "$0.01")] {
            let d = thank_you(&Paid {
                bill_total: Some(total),
                ..paid(Some(Commission::Percentage(1_000)))
            });
            assert!(d.body.contains(&format!("comes to {owed}.")), "{}", d.body);
        }
    }
}
