//! Model APIs: the base path a proxy matches requests against, the AI protocols it speaks and
//! its model category.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest base path, in bytes (it is ASCII).
pub const BASE_PATH_MAX: usize = 200;

/// Why a base path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BasePathError {
    #[error("Enter a base path such as /v1/chat.")]
    Empty,
    #[error("The base path must start with \"/\".")]
    NoLeadingSlash,
    #[error("The base path can contain up to 200 characters.")]
    TooLong,
    #[error("The base path cannot contain empty segments (\"//\").")]
    EmptySegment,
    #[error("The base path cannot contain \".\" or \"..\" segments.")]
    DotSegment,
    #[error(
        "The base path cannot contain {0:?}: use letters, digits, \"-\", \"_\", \".\" and \"~\"."
    )]
    Char(char),
}

/// A normalised URL path prefix: `/` or `/seg(/seg)*` with unreserved characters only and no
/// trailing slash, so prefix matching at enforcement time is a plain segment comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BasePath(String);

impl BasePath {
    pub fn parse(input: &str) -> Result<BasePath, BasePathError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(BasePathError::Empty);
        }
        if !s.starts_with('/') {
            return Err(BasePathError::NoLeadingSlash);
        }
        if s.len() > BASE_PATH_MAX {
            return Err(BasePathError::TooLong);
        }
        if let Some(bad) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.' | '~')))
        {
            return Err(BasePathError::Char(bad));
        }
        let trimmed = if s.len() > 1 {
            s.trim_end_matches('/')
        } else {
            s
        };
        if trimmed.is_empty() {
            return Ok(BasePath("/".into()));
        }
        for seg in trimmed[1..].split('/') {
            if trimmed.len() > 1 && seg.is_empty() {
                return Err(BasePathError::EmptySegment);
            }
            if seg == "." || seg == ".." {
                return Err(BasePathError::DotSegment);
            }
        }
        Ok(BasePath(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `path` (already normalised) is this path or lies below it.
    pub fn covers(&self, path: &str) -> bool {
        self.0 == "/"
            || path == self.0
            || (path.starts_with(&self.0) && path.as_bytes().get(self.0.len()) == Some(&b'/'))
    }
}

impl fmt::Display for BasePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The AI protocols a model API can speak (`aiProtocols` in the seed).
pub const AI_PROTOCOLS: &[&str] = &["OpenAI/v1", "Anthropic/v1", "DashScope/v1", "Gemini/v1"];

/// The model categories (`modelCategory` in the seed).
pub const MODEL_CATEGORIES: &[&str] = &[
    "Text",
    "Image",
    "Audio",
    "Video",
    "Embedding",
    "Rerank",
    "Multimodal",
];

/// Checks a list of AI protocols: at least one, each known, no repeats; returns them in the
/// order given.
pub fn parse_ai_protocols(input: &[String]) -> Result<Vec<String>, String> {
    if input.is_empty() {
        return Err("Choose at least one AI protocol.".into());
    }
    let mut out: Vec<String> = Vec::with_capacity(input.len());
    for p in input {
        let known = AI_PROTOCOLS
            .iter()
            .find(|k| k.eq_ignore_ascii_case(p.trim()))
            .ok_or_else(|| {
                format!(
                    "{:?} is not a known AI protocol; use one of {}.",
                    p.chars().take(40).collect::<String>(),
                    AI_PROTOCOLS.join(", ")
                )
            })?;
        if !out.iter().any(|o| o == known) {
            out.push((*known).to_owned());
        }
    }
    Ok(out)
}

/// Checks a model category against the known ones (case-insensitively).
pub fn parse_model_category(input: &str) -> Result<String, String> {
    MODEL_CATEGORIES
        .iter()
        .find(|k| k.eq_ignore_ascii_case(input.trim()))
        .map(|k| (*k).to_owned())
        .ok_or_else(|| {
            format!(
                "{:?} is not a model category; use one of {}.",
                input.chars().take(40).collect::<String>(),
                MODEL_CATEGORIES.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_simple_base_path_is_accepted_and_normalised() {
        assert_eq!(BasePath::parse(" /v1/chat/ ").unwrap().as_str(), "/v1/chat");
        assert_eq!(BasePath::parse("/").unwrap().as_str(), "/");
        assert_eq!(BasePath::parse("///").unwrap().as_str(), "/");
    }

    #[test]
    fn a_base_path_without_a_leading_slash_is_rejected() {
        assert_eq!(BasePath::parse("v1"), Err(BasePathError::NoLeadingSlash));
    }

    #[test]
    fn dot_segments_and_empty_segments_are_rejected() {
        assert_eq!(BasePath::parse("/a/../b"), Err(BasePathError::DotSegment));
        assert_eq!(BasePath::parse("/a//b"), Err(BasePathError::EmptySegment));
    }

    #[test]
    fn query_and_percent_characters_are_rejected() {
        assert_eq!(BasePath::parse("/a?b"), Err(BasePathError::Char('?')));
        assert_eq!(BasePath::parse("/a%2e"), Err(BasePathError::Char('%')));
    }

    #[test]
    fn a_base_path_covers_itself_and_paths_below_it_only() {
        let p = BasePath::parse("/v1/chat").unwrap();
        assert!(p.covers("/v1/chat") && p.covers("/v1/chat/completions"));
        assert!(!p.covers("/v1/chatter") && !p.covers("/v1"));
    }

    #[test]
    fn protocols_are_matched_case_insensitively_and_deduplicated() {
        let got = parse_ai_protocols(&["openai/v1".into(), "OpenAI/v1".into()]).unwrap();
        assert_eq!(got, vec!["OpenAI/v1".to_string()]);
        assert!(parse_ai_protocols(&[]).is_err());
        assert!(parse_ai_protocols(&["SOAP".into()]).is_err());
    }

    #[test]
    fn model_categories_are_checked() {
        assert_eq!(parse_model_category("text").unwrap(), "Text");
        assert!(parse_model_category("Poetry").is_err());
    }

    proptest! {
        #[test]
        fn parsed_base_paths_reparse_to_themselves(s in "\\PC{0,60}") {
            if let Ok(p) = BasePath::parse(&s) {
                prop_assert_eq!(BasePath::parse(p.as_str()).unwrap(), p.clone());
                prop_assert!(p.as_str().starts_with('/'));
                prop_assert!(!p.as_str().contains("//"));
            }
        }
    }
}
