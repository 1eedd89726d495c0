//! Authorization rules: who (a consumer or a consumer group) may call which model API in which
//! environment, and until when (LongTerm, or ShortTerm
//! until a time). Expiry status is computed from the clock, never
//! stored, so a ShortTerm rule stops granting the moment it expires.

use serde::{Deserialize, Serialize};

/// Whether a rule lasts until revoked or until a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum ExpireMode {
    LongTerm,
    ShortTerm,
}

impl ExpireMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ExpireMode::LongTerm => "LongTerm",
            ExpireMode::ShortTerm => "ShortTerm",
        }
    }

    pub fn parse(s: &str) -> Option<ExpireMode> {
        match s {
            "LongTerm" => Some(ExpireMode::LongTerm),
            "ShortTerm" => Some(ExpireMode::ShortTerm),
            _ => None,
        }
    }
}

/// Whether a rule grants access right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum ExpireStatus {
    InEffect,
    Expired,
}

impl ExpireStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExpireStatus::InEffect => "InEffect",
            ExpireStatus::Expired => "Expired",
        }
    }

    pub fn parse(s: &str) -> Option<ExpireStatus> {
        match s {
            "InEffect" => Some(ExpireStatus::InEffect),
            "Expired" => Some(ExpireStatus::Expired),
            _ => None,
        }
    }

    /// The label the console shows.
    pub fn label(self) -> &'static str {
        match self {
            ExpireStatus::InEffect => "In effect",
            ExpireStatus::Expired => "Expired",
        }
    }
}

/// Who a rule grants access to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum PrincipalType {
    Consumer,
    ConsumerGroup,
}

impl PrincipalType {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalType::Consumer => "Consumer",
            PrincipalType::ConsumerGroup => "ConsumerGroup",
        }
    }

    pub fn parse(s: &str) -> Option<PrincipalType> {
        match s {
            "Consumer" => Some(PrincipalType::Consumer),
            "ConsumerGroup" => Some(PrincipalType::ConsumerGroup),
            _ => None,
        }
    }
}

/// A checked expiry: LongTerm has no time, ShortTerm has one in the future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    pub mode: ExpireMode,
    pub expire_at: Option<i64>,
}

/// Why an expiry was refused; the `field` is the REST parameter it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryError {
    #[error("expireMode must be LongTerm or ShortTerm.")]
    Mode,
    #[error("A ShortTerm rule needs an expiry time (expireTimestamp, in milliseconds).")]
    MissingTime,
    #[error("The expiry time must be in the future.")]
    PastTime,
    #[error("A LongTerm rule does not expire: leave the expiry time empty.")]
    TimeOnLongTerm,
}

impl ExpiryError {
    pub fn field(&self) -> &'static str {
        match self {
            ExpiryError::Mode => "ExpireMode",
            _ => "ExpireTimestamp",
        }
    }
}

/// The latest expiry accepted (year 9999), so times stay well inside JSON's exact integers.
pub const MAX_EXPIRE_AT: i64 = 253_402_300_799_000;

impl Expiry {
    pub fn parse(mode: &str, expire_at: Option<i64>, now_ms: i64) -> Result<Expiry, ExpiryError> {
        match (ExpireMode::parse(mode).ok_or(ExpiryError::Mode)?, expire_at) {
            (ExpireMode::LongTerm, None) => Ok(Expiry {
                mode: ExpireMode::LongTerm,
                expire_at: None,
            }),
            (ExpireMode::LongTerm, Some(_)) => Err(ExpiryError::TimeOnLongTerm),
            (ExpireMode::ShortTerm, None) => Err(ExpiryError::MissingTime),
            (ExpireMode::ShortTerm, Some(t)) if t <= now_ms || t > MAX_EXPIRE_AT => {
                Err(ExpiryError::PastTime)
            }
            (ExpireMode::ShortTerm, Some(t)) => Ok(Expiry {
                mode: ExpireMode::ShortTerm,
                expire_at: Some(t),
            }),
        }
    }
}

/// When a rule stops granting: never (`None`) for LongTerm, at its time for ShortTerm (a
/// ShortTerm rule without a time never grants). The console's status and the enforcement
/// snapshot both decide by this.
pub fn ends_at(mode: ExpireMode, expire_at: Option<i64>) -> Option<i64> {
    match mode {
        ExpireMode::LongTerm => None,
        ExpireMode::ShortTerm => Some(expire_at.unwrap_or(i64::MIN)),
    }
}

/// The status of a rule with this expiry at `now_ms`.
pub fn expire_status(mode: ExpireMode, expire_at: Option<i64>, now_ms: i64) -> ExpireStatus {
    match ends_at(mode, expire_at) {
        Some(t) if t <= now_ms => ExpireStatus::Expired,
        _ => ExpireStatus::InEffect,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_long_term_rule_needs_no_time_and_is_always_in_effect() {
        let e = Expiry::parse("LongTerm", None, 1000).unwrap();
        assert_eq!(
            expire_status(e.mode, e.expire_at, i64::MAX),
            ExpireStatus::InEffect
        );
    }

    #[test]
    fn a_short_term_rule_without_a_time_is_rejected() {
        assert_eq!(
            Expiry::parse("ShortTerm", None, 0),
            Err(ExpiryError::MissingTime)
        );
    }

    #[test]
    fn a_short_term_rule_in_the_past_is_rejected() {
        assert_eq!(
            Expiry::parse("ShortTerm", Some(999), 1000),
            Err(ExpiryError::PastTime)
        );
    }

    #[test]
    fn a_long_term_rule_with_a_time_is_rejected() {
        assert_eq!(
            Expiry::parse("LongTerm", Some(5000), 1000),
            Err(ExpiryError::TimeOnLongTerm)
        );
    }

    #[test]
    fn an_unknown_mode_is_rejected() {
        assert_eq!(Expiry::parse("Forever", None, 0), Err(ExpiryError::Mode));
    }

    #[test]
    fn a_short_term_rule_expires_at_its_time() {
        let e = Expiry::parse("ShortTerm", Some(2000), 1000).unwrap();
        assert_eq!(
            expire_status(e.mode, e.expire_at, 1999),
            ExpireStatus::InEffect
        );
        assert_eq!(
            expire_status(e.mode, e.expire_at, 2000),
            ExpireStatus::Expired
        );
    }

    proptest! {
        #[test]
        fn an_accepted_short_term_expiry_is_in_effect_now(t in any::<i64>(), now in 0i64..MAX_EXPIRE_AT) {
            if let Ok(e) = Expiry::parse("ShortTerm", Some(t), now) {
                prop_assert_eq!(expire_status(e.mode, e.expire_at, now), ExpireStatus::InEffect);
            }
        }
    }
}
