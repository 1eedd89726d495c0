//! Resource identifiers: a type prefix and a 20-character lowercase base32hex xid
//! (`cs-csgdi45lhtggrjcpriug`); IDs are never reused.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The kinds of resource that carry a prefixed ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IdKind {
    /// A gateway instance; on the wire (error codes, audit entries) it keeps the cloud APIs'
    /// word, "Gateway".
    #[serde(rename = "Gateway")]
    Instance,
    Consumer,
    ConsumerGroup,
    Key,
    Api,
    Environment,
    AuthorizationRule,
    Account,
    ApiToken,
    RateLimit,
    Quota,
    /// A consumer's JWT or HMAC credential (an API key is a `Key`).
    Credential,
}

impl IdKind {
    pub const ALL: [IdKind; 12] = [
        IdKind::Instance,
        IdKind::Consumer,
        IdKind::ConsumerGroup,
        IdKind::Key,
        IdKind::Api,
        IdKind::Environment,
        IdKind::AuthorizationRule,
        IdKind::Account,
        IdKind::ApiToken,
        IdKind::RateLimit,
        IdKind::Quota,
        IdKind::Credential,
    ];

    /// The kind an ID's prefix names.
    pub fn of(id: &str) -> Option<IdKind> {
        IdKind::ALL.into_iter().find(|k| id.starts_with(k.prefix()))
    }

    /// The kind a noun names (the inverse of `noun`).
    pub fn from_noun(noun: &str) -> Option<IdKind> {
        IdKind::ALL.into_iter().find(|k| k.noun() == noun)
    }

    pub const fn prefix(self) -> &'static str {
        match self {
            IdKind::Instance => "gw-",
            IdKind::Consumer => "cs-",
            IdKind::ConsumerGroup => "cg-",
            IdKind::Key => "key-",
            IdKind::Api => "api-",
            IdKind::Environment => "env-",
            IdKind::AuthorizationRule => "car-",
            IdKind::Account => "acc-",
            IdKind::ApiToken => "tok-",
            IdKind::RateLimit => "rl-",
            IdKind::Quota => "qt-",
            IdKind::Credential => "cred-",
        }
    }

    /// The exact form of an ID of this kind, as a regular expression.
    pub fn pattern(self) -> String {
        format!("^{}[0-9a-v]{{{XID_LEN}}}$", self.prefix())
    }

    /// The noun used in messages and error codes (`NotFound.Consumer`).
    pub const fn noun(self) -> &'static str {
        match self {
            IdKind::Instance => "Gateway",
            IdKind::Consumer => "Consumer",
            IdKind::ConsumerGroup => "ConsumerGroup",
            IdKind::Key => "Key",
            IdKind::Api => "Api",
            IdKind::Environment => "Environment",
            IdKind::AuthorizationRule => "AuthorizationRule",
            IdKind::Account => "Account",
            IdKind::ApiToken => "ApiToken",
            IdKind::RateLimit => "RateLimit",
            IdKind::Quota => "Quota",
            IdKind::Credential => "Credential",
        }
    }
}

/// A syntactically valid ID of a known kind. Parsing checks shape only, not existence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResourceId(String);

/// Length of the xid part.
const XID_LEN: usize = 20;

fn is_base32hex_lower(c: char) -> bool {
    c.is_ascii_digit() || ('a'..='v').contains(&c)
}

impl ResourceId {
    /// Accepts `prefix` + 20 lowercase base32hex characters.
    pub fn parse(kind: IdKind, input: &str) -> Option<ResourceId> {
        let rest = input.strip_prefix(kind.prefix())?;
        (rest.len() == XID_LEN && rest.chars().all(is_base32hex_lower))
            .then(|| ResourceId(input.to_owned()))
    }

    /// A fresh ID; xids are time-ordered and never reused.
    #[cfg(feature = "ssr")]
    pub fn generate(kind: IdKind) -> ResourceId {
        ResourceId(format!("{}{}", kind.prefix(), xid::new()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn kinds_are_found_by_prefix_and_by_noun() {
        for kind in IdKind::ALL {
            let id = format!("{}d4g5h6j7k8l9m0n1p2q3", kind.prefix());
            assert_eq!(IdKind::of(&id), Some(kind));
            assert_eq!(IdKind::from_noun(kind.noun()), Some(kind));
        }
        assert_eq!(IdKind::of("x-1"), None);
        assert_eq!(IdKind::from_noun("Instance"), None);
    }

    #[test]
    fn the_seed_consumer_id_is_accepted() {
        assert!(ResourceId::parse(IdKind::Consumer, "cs-csgdi45lhtggrjcpriug").is_some());
    }

    #[test]
    fn an_id_of_another_kind_is_rejected() {
        assert!(ResourceId::parse(IdKind::Consumer, "cg-csgdi45lhtggrjcpriug").is_none());
    }

    #[test]
    fn uppercase_or_short_ids_are_rejected() {
        assert!(ResourceId::parse(IdKind::Consumer, "cs-CSGDI45LHTGGRJCPRIUG").is_none());
        assert!(ResourceId::parse(IdKind::Consumer, "cs-csgdi45").is_none());
    }

    #[test]
    fn generated_ids_parse_and_differ() {
        let a = ResourceId::generate(IdKind::Key);
        let b = ResourceId::generate(IdKind::Key);
        assert_ne!(a, b);
        assert_eq!(ResourceId::parse(IdKind::Key, a.as_str()), Some(a));
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(s in any::<String>()) {
            let _ = ResourceId::parse(IdKind::Instance, &s);
        }
    }
}
