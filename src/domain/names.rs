//! Names and descriptions of consumers, groups, keys and APIs: names of 1–60 letters (ASCII
//! or Han), digits, `-` and `_`, starting with a letter and not ending with a separator;
//! descriptions of up to 200 characters.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest name, counted in characters (not bytes).
pub const NAME_MAX_CHARS: usize = 60;
/// Longest description, counted in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 200;

/// `Name::parse`'s rules as a regular expression (ECMA-262 and Rust `regex` alike), for the
/// OpenAPI document. It names the Han characters of the Basic Multilingual Plane; the
/// supplementary-plane Han extensions, also accepted, need escapes the two dialects write
/// differently. Surrounding whitespace, which `parse` trims, is not part of it.
pub const NAME_PATTERN: &str = "^[A-Za-z\\u3007\\u3400-\\u4DBF\\u4E00-\\u9FFF\\uF900-\\uFAFF]\
    (?:[-_A-Za-z0-9\\u3007\\u3400-\\u4DBF\\u4E00-\\u9FFF\\uF900-\\uFAFF]*\
    [A-Za-z0-9\\u3007\\u3400-\\u4DBF\\u4E00-\\u9FFF\\uF900-\\uFAFF])?$";

/// `Description::parse`'s rule on characters: no control characters but newline and tab.
pub const DESCRIPTION_PATTERN: &str = "^[^\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F]*$";

/// Why a name was refused; each variant is a sentence the user can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum NameError {
    #[error("Enter a name.")]
    Empty,
    #[error("The name can contain up to 60 characters (this one has {0}).")]
    TooLong(usize),
    #[error("The name cannot start with a digit.")]
    StartsWithDigit,
    #[error("The name cannot start with a separator (\"-\" or \"_\").")]
    StartsWithSeparator,
    #[error("The name cannot end with a separator (\"-\" or \"_\").")]
    EndsWithSeparator,
    #[error(
        "The name cannot contain {0:?}: use letters (English or Chinese), digits, \"-\" and \"_\"."
    )]
    Char(char),
}

/// A valid resource name: 1–60 characters of ASCII letters, Han characters, digits, `-` and
/// `_`, not starting with a digit or separator and not ending with a separator.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);

fn is_separator(c: char) -> bool {
    c == '-' || c == '_'
}

/// Han (Chinese) characters: the CJK ideograph blocks and their extensions.
fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3007 | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF
        | 0x20000..=0x2A6DF | 0x2A700..=0x2EBEF | 0x2F800..=0x2FA1F | 0x30000..=0x323AF)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || is_separator(c) || is_han(c)
}

impl Name {
    /// Parses user input; surrounding whitespace is the only thing forgiven.
    pub fn parse(input: &str) -> Result<Name, NameError> {
        let s = input.trim();
        let first = s.chars().next().ok_or(NameError::Empty)?;
        let count = s.chars().count();
        if count > NAME_MAX_CHARS {
            return Err(NameError::TooLong(count));
        }
        if let Some(bad) = s.chars().find(|c| !is_name_char(*c)) {
            return Err(NameError::Char(bad));
        }
        if first.is_ascii_digit() {
            return Err(NameError::StartsWithDigit);
        }
        if is_separator(first) {
            return Err(NameError::StartsWithSeparator);
        }
        if s.ends_with(is_separator) {
            return Err(NameError::EndsWithSeparator);
        }
        Ok(Name(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key under which uniqueness is enforced: names differ only if they differ
    /// ignoring ASCII case (Han has no case).
    pub fn unique_key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl TryFrom<String> for Name {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Name::parse(&value)
    }
}

impl From<Name> for String {
    fn from(value: Name) -> Self {
        value.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a description was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum DescriptionError {
    #[error("The description can contain up to 200 characters (this one has {0}).")]
    TooLong(usize),
    #[error("The description cannot contain control characters.")]
    ControlChar,
}

/// Free text of at most 200 characters without control characters (newlines and tabs allowed).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Description(String);

impl Description {
    pub fn parse(input: &str) -> Result<Description, DescriptionError> {
        let s = input.trim();
        let count = s.chars().count();
        if count > DESCRIPTION_MAX_CHARS {
            return Err(DescriptionError::TooLong(count));
        }
        if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(DescriptionError::ControlChar);
        }
        Ok(Description(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Description {
    type Error = DescriptionError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Description::parse(&value)
    }
}

impl From<Description> for String {
    fn from(value: Description) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_plain_ascii_name_is_accepted() {
        assert_eq!(
            Name::parse("billing-app_2").unwrap().as_str(),
            "billing-app_2"
        );
    }

    #[test]
    fn a_chinese_name_is_accepted() {
        assert_eq!(Name::parse("计费服务-v2").unwrap().as_str(), "计费服务-v2");
    }

    #[test]
    fn an_empty_name_is_rejected() {
        assert_eq!(Name::parse("   "), Err(NameError::Empty));
    }

    #[test]
    fn a_name_starting_with_a_digit_is_rejected() {
        assert_eq!(Name::parse("1app"), Err(NameError::StartsWithDigit));
    }

    #[test]
    fn a_name_starting_with_a_separator_is_rejected() {
        assert_eq!(Name::parse("-app"), Err(NameError::StartsWithSeparator));
        assert_eq!(Name::parse("_app"), Err(NameError::StartsWithSeparator));
    }

    #[test]
    fn a_name_ending_with_a_separator_is_rejected() {
        assert_eq!(Name::parse("app-"), Err(NameError::EndsWithSeparator));
    }

    #[test]
    fn a_name_with_a_space_or_markup_is_rejected() {
        assert_eq!(Name::parse("my app"), Err(NameError::Char(' ')));
        assert_eq!(Name::parse("a<script>"), Err(NameError::Char('<')));
        assert_eq!(Name::parse("a'; DROP"), Err(NameError::Char('\'')));
    }

    #[test]
    fn sixty_characters_are_counted_as_characters_not_bytes() {
        let han = "汉".repeat(60);
        assert!(Name::parse(&han).is_ok());
        assert_eq!(Name::parse(&format!("{han}a")), Err(NameError::TooLong(61)));
    }

    #[test]
    fn names_differing_only_in_case_share_a_unique_key() {
        assert_eq!(
            Name::parse("App").unwrap().unique_key(),
            Name::parse("aPP").unwrap().unique_key()
        );
    }

    #[test]
    fn a_description_of_two_hundred_characters_is_the_limit() {
        assert!(Description::parse(&"x".repeat(200)).is_ok());
        assert_eq!(
            Description::parse(&"x".repeat(201)),
            Err(DescriptionError::TooLong(201))
        );
    }

    #[test]
    fn a_description_with_a_control_character_is_rejected() {
        assert_eq!(
            Description::parse("a\u{0}b"),
            Err(DescriptionError::ControlChar)
        );
    }

    proptest! {
        /// The OpenAPI patterns say exactly what `parse` does, for text without surrounding
        /// whitespace (which `parse` trims) and without supplementary-plane Han characters
        /// (which the pattern leaves out).
        #[test]
        fn the_documented_patterns_agree_with_parse(
            s in "[a-zA-Z0-9_\\- \t\n\r\u{0}\u{7f}\u{85}\u{3007}\u{4e00}-\u{4e10}\u{9fff}\u{a000}é.]{0,65}"
        ) {
            let name = regex::Regex::new(NAME_PATTERN).unwrap();
            let description = regex::Regex::new(DESCRIPTION_PATTERN).unwrap();
            if s.trim() == s {
                let documented = name.is_match(&s) && s.chars().count() <= NAME_MAX_CHARS;
                prop_assert_eq!(documented, Name::parse(&s).is_ok(), "{:?}", s);
                let documented = description.is_match(&s) && s.chars().count() <= DESCRIPTION_MAX_CHARS;
                prop_assert_eq!(documented, Description::parse(&s).is_ok(), "{:?}", s);
            }
        }

        #[test]
        fn every_accepted_name_obeys_every_rule(s in "\\PC{0,80}") {
            if let Ok(name) = Name::parse(&s) {
                let n = name.as_str();
                let count = n.chars().count();
                prop_assert!((1..=NAME_MAX_CHARS).contains(&count));
                prop_assert!(n.chars().all(is_name_char));
                let first = n.chars().next().unwrap();
                prop_assert!(!first.is_ascii_digit() && !is_separator(first));
                prop_assert!(!n.ends_with(is_separator));
            }
        }

        #[test]
        fn well_formed_names_are_accepted_unchanged(s in "[a-zA-Z\u{4e00}-\u{9fa5}][a-zA-Z0-9_\u{4e00}-\u{9fa5}-]{0,58}[a-zA-Z0-9\u{4e00}-\u{9fa5}]") {
            let parsed = Name::parse(&s).unwrap();
            prop_assert_eq!(parsed.as_str(), s.as_str());
        }

        #[test]
        fn parsing_never_panics_on_arbitrary_unicode(s in any::<String>()) {
            let _ = Name::parse(&s);
            let _ = Description::parse(&s);
        }

        #[test]
        fn serde_refuses_what_parse_refuses(s in "\\PC{0,70}") {
            let json = serde_json::to_string(&s).unwrap();
            prop_assert_eq!(serde_json::from_str::<Name>(&json).is_ok(), Name::parse(&s).is_ok());
        }
    }
}
