//! The vocabulary in PostgreSQL columns: text for names and statuses, BIGINT for ids.

use diesel::{
    deserialize::{self, FromSql},
    pg::{Pg, PgValue},
    serialize::{self, IsNull, Output, ToSql},
    sql_types::Text,
};
use std::io::Write;

use super::{
    ActivityDirection, ActivityState, ActivityType, BillState, ClioRecordKind, ConnectionStatus,
    CustomActionPurpose, DeadLetterState, Direction, MatterStatus, Model, ReferralStatus,
    SubscriptionStatus,
};

fn write_text(s: &str, out: &mut Output<'_, '_, Pg>) -> serialize::Result {
    out.write_all(s.as_bytes())?;
    Ok(IsNull::No)
}

/// What reading a stored text into a vocabulary gives: a closed vocabulary's `parse` can fail
/// (the error names the value, so a corrupt row fails loudly instead of reading as a default),
/// an open one's cannot.
trait Parsed<T> {
    fn into_result(self) -> deserialize::Result<T>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> Parsed<T> for Result<T, E> {
    fn into_result(self) -> deserialize::Result<T> {
        Ok(self?)
    }
}

impl Parsed<MatterStatus> for MatterStatus {
    fn into_result(self) -> deserialize::Result<MatterStatus> {
        Ok(self)
    }
}

impl Parsed<BillState> for BillState {
    fn into_result(self) -> deserialize::Result<BillState> {
        Ok(self)
    }
}

/// Text columns: written as `as_str`, read through `parse`.
macro_rules! text_sql {
    ($($t:ty),+) => {$(
        impl ToSql<Text, Pg> for $t {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                write_text(self.as_str(), out)
            }
        }

        impl FromSql<Text, Pg> for $t {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
                <$t>::parse(&text).into_result()
            }
        }
    )+};
}

text_sql!(
    Model,
    ReferralStatus,
    Direction,
    DeadLetterState,
    ConnectionStatus,
    SubscriptionStatus,
    CustomActionPurpose,
    ActivityType,
    ActivityDirection,
    ActivityState,
    ClioRecordKind,
    MatterStatus,
    BillState
);

/// BIGINT columns holding an id newtype.
macro_rules! bigint_sql {
    ($t:ty) => {
        impl diesel::serialize::ToSql<diesel::sql_types::BigInt, diesel::pg::Pg> for $t {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <i64 as diesel::serialize::ToSql<diesel::sql_types::BigInt, diesel::pg::Pg>>::to_sql(
                    &self.0,
                    &mut out.reborrow(),
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::BigInt, diesel::pg::Pg> for $t {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                <i64 as diesel::deserialize::FromSql<diesel::sql_types::BigInt, diesel::pg::Pg>>::from_sql(bytes)
                    .map(Self)
            }
        }
    };
}

pub(crate) use bigint_sql;
