//! Money as a firm bills it: an integer count of its currency's minor units (cents, or whole yen,
//! or thousandths of a dinar), never a float, formatted with the currency's sign and precision.
//!
//! Clio sends amounts as JSON numbers and a bill's currency as `{code, sign}`. An amount read
//! from Clio goes through its shortest decimal form (what Clio wrote: `1234.56`), not through
//! binary floating point arithmetic, so it becomes minor units exactly.

use std::{fmt, str::FromStr};

use rust_decimal::{prelude::ToPrimitive, Decimal, RoundingStrategy};

/// A currency: its ISO 4217 code, and the sign Clio shows for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Currency {
    code: String,
    sign: Option<String>,
}

impl Currency {
    /// The currency a bill without one is in (Clio's US default).
    pub fn usd() -> Self {
        Self {
            code: "USD".into(),
            sign: Some("$".into()),
        }
    }

    /// From Clio's `code` (ISO 4217, any case) and `sign`. `None` for a code that is not three
    /// letters.
    pub fn new(code: &str, sign: Option<&str>) -> Option<Self> {
        let code = code.trim().to_ascii_uppercase();
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let sign = sign
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= 8);
        Some(Self {
            code,
            sign: sign.map(str::to_owned),
        })
    }

    /// Its ISO 4217 code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The sign Clio gave, if any.
    pub fn sign(&self) -> Option<&str> {
        self.sign.as_deref()
    }

    /// Decimal places of its minor unit: 2 for USD and EUR, 0 for JPY, 3 for BHD; 2 for a code
    /// ISO 4217 does not know.
    pub fn exponent(&self) -> u32 {
        iso_currency::Currency::from_code(&self.code)
            .and_then(|c| c.exponent())
            .map_or(2, u32::from)
    }

    /// What amounts are prefixed with: Clio's sign, else ISO's symbol, else the code and a space.
    fn prefix(&self) -> String {
        if let Some(sign) = &self.sign {
            return sign.clone();
        }
        match iso_currency::Currency::from_code(&self.code) {
            Some(c) if c.symbol().symbol != self.code => c.symbol().symbol,
            _ => format!("{} ", self.code),
        }
    }
}

/// An amount of money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    /// Minor units of `currency` (cents for USD).
    pub minor: i64,
    /// Its currency.
    pub currency: Currency,
}

/// An amount that does not fit (more precision than the currency, or out of range).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{amount} is not an amount of {currency}")]
pub struct BadAmount {
    /// The amount as given.
    pub amount: String,
    /// The currency's code.
    pub currency: String,
}

impl Money {
    /// `minor` units of `currency`.
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// An amount as Clio sent it (a JSON number, here an `f64`), in `currency`. The number's
    /// shortest decimal form is what Clio wrote; it is rounded to the currency's precision (half
    /// away from zero) only if Clio sent more, which it does not for a bill's totals.
    pub fn from_clio(amount: f64, currency: Currency) -> Result<Self, BadAmount> {
        let bad = || BadAmount {
            amount: amount.to_string(),
            currency: currency.code.clone(),
        };
        if !amount.is_finite() {
            return Err(bad());
        }
        let exact = Decimal::from_str(&amount.to_string()).map_err(|_| bad())?;
        Self::from_decimal(exact, currency.clone()).ok_or_else(bad)
    }

    /// A decimal amount in `currency`, rounded to its precision (half away from zero).
    pub fn from_decimal(amount: Decimal, currency: Currency) -> Option<Self> {
        let exponent = currency.exponent();
        let scaled = amount
            .round_dp_with_strategy(exponent, RoundingStrategy::MidpointAwayFromZero)
            .checked_mul(Decimal::from(10_i64.checked_pow(exponent)?))?;
        Some(Self {
            minor: scaled.to_i64()?,
            currency,
        })
    }

    /// `basis_points` (hundredths of a percent) of this amount, in whole minor units, rounded half
    /// away from zero: 12.5% of $0.05 is $0.01. Integer arithmetic throughout.
    pub fn share(&self, basis_points: i64) -> Self {
        let product = i128::from(self.minor) * i128::from(basis_points);
        let half = 5_000 * product.signum();
        let minor = (product + half) / 10_000;
        Self {
            minor: i64::try_from(minor).unwrap_or(if minor < 0 { i64::MIN } else { i64::MAX }),
            currency: self.currency.clone(),
        }
    }

    /// The sum with `other` in the same currency; `None` across currencies.
    pub fn plus(&self, other: &Money) -> Option<Self> {
        (self.currency == other.currency).then(|| Self {
            minor: self.minor.saturating_add(other.minor),
            currency: self.currency.clone(),
        })
    }
}

impl fmt::Display for Money {
    /// `$1,234.50`, `€1,234.50`, `¥1,500`, `-$3.00`: the currency's sign, thousands grouped,
    /// exactly its minor digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exponent = self.currency.exponent();
        let divisor = 10_u64.pow(exponent);
        let units = self.minor.unsigned_abs();
        let whole = (units / divisor).to_string();
        let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let sign = if self.minor < 0 { "-" } else { "" };
        write!(f, "{sign}{}{grouped}", self.currency.prefix())?;
        if exponent > 0 {
            write!(f, ".{:0width$}", units % divisor, width = exponent as usize)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(code: &str, sign: Option<&str>) -> Currency {
        Currency::new(code, sign).expect("currency")
    }

    #[test]
    fn clio_amounts_become_minor_units_exactly() {
        let usd = Currency::usd();
        // 0.1 + 0.2 style noise never reaches the amount: what Clio wrote is what counts.
        for (amount, minor) in [
            (1234.56, 123_456),
            (0.29, 29),
            (1.005, 101),
            (19.99, 1999),
            (-3.0, -300),
        ] {
            assert_eq!(
                Money::from_clio(amount, usd.clone()).expect("amount").minor,
                minor,
                "{amount}"
            );
        }
        assert_eq!(
            Money::from_clio(1500.0, of("jpy", None))
                .expect("yen")
                .minor,
            1500
        );
        assert_eq!(
            Money::from_clio(1.234, of("BHD", None))
                .expect("dinar")
                .minor,
            1234
        );
        assert!(Money::from_clio(f64::NAN, usd.clone()).is_err());
        assert!(Money::from_clio(1e300, usd).is_err());
    }

    #[test]
    fn amounts_print_in_their_currency() {
        let eur = of("EUR", Some("€"));
        assert_eq!(Money::new(123_450, eur).to_string(), "€1,234.50");
        assert_eq!(
            Money::new(1_500, of("JPY", Some("¥"))).to_string(),
            "¥1,500"
        );
        assert_eq!(
            Money::new(1_234_567, of("BHD", None)).to_string(),
            ".د.ب1,234.567"
        );
        assert_eq!(Money::new(-300, Currency::usd()).to_string(), "-$3.00");
        assert_eq!(Money::new(5, of("GBP", None)).to_string(), "£0.05");
        assert_eq!(Money::new(100, of("XYZ", None)).to_string(), "XYZ 1.00");
        assert_eq!(Money::new(0, Currency::usd()).to_string(), "$0.00");
    }

    #[test]
    fn a_share_rounds_half_cents_away_from_zero_without_floats() {
        let usd = |minor| Money::new(minor, Currency::usd());
        // 10% of $0.05 is half a cent: one cent. Of $0.04, 0.4 of a cent: none.
        assert_eq!(usd(5).share(1_000).minor, 1);
        assert_eq!(usd(4).share(1_000).minor, 0);
        // 12.5% of $12,345.67 = $1,543.20875 -> $1,543.21.
        assert_eq!(usd(1_234_567).share(1_250).minor, 154_321);
        // 33.33% of $0.15 = 4.9995 cents -> 5; of $0.03 = 0.9999 -> 1.
        assert_eq!(usd(15).share(3_333).minor, 5);
        assert_eq!(usd(3).share(3_333).minor, 1);
        // A credit's share rounds the same way, below zero.
        assert_eq!(usd(-5).share(1_000).minor, -1);
        // Where f64 goes wrong: 1.15 * 100 * 0.5 = 57.49999... in binary; exactly 57.5 -> 58.
        assert_eq!(usd(115).share(5_000).minor, 58);
        assert_eq!(usd(i64::MAX).share(10_000).minor, i64::MAX);
    }

    #[test]
    fn currencies_are_iso_codes() {
        assert!(Currency::new("usd", None).is_some());
        for bad in ["", "US", "USDX", "U$D", "12€"] {
            assert!(Currency::new(bad, None).is_none(), "{bad}");
        }
        assert_eq!(of("EUR", None).exponent(), 2);
        assert_eq!(of("JPY", None).exponent(), 0);
        assert_eq!(of("KWD", None).exponent(), 3);
        assert!(Money::new(1, of("EUR", None))
            .plus(&Money::new(1, Currency::usd()))
            .is_none());
    }
}
