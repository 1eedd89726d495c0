//! The path of a request that enforcement decides on. A proxy forwards the original URI as
//! it arrived; before it is matched against model APIs' base paths it is cut at the query
//! and fragment and normalised, and anything that could be read two ways (a dot segment, an
//! encoded `.` `/` `\` or `%`, a double slash, a control or non-ASCII byte) is refused, so
//! the path we match is the path the upstream serves.

use std::fmt;

/// The longest path accepted (longer ones are refused, not truncated).
pub const REQUEST_PATH_MAX: usize = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRefusal {
    Empty,
    NotAbsolute,
    TooLong,
    /// A byte outside visible ASCII, or a backslash.
    Char,
    /// A malformed escape, or an escape of `.`, `/`, `\`, `%` or a control character.
    Encoding,
    /// `.` or `..` as a segment.
    DotSegment,
    /// `//` inside the path.
    EmptySegment,
}

impl fmt::Display for PathRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathRefusal::Empty => "no request path",
            PathRefusal::NotAbsolute => "the path does not start with /",
            PathRefusal::TooLong => "the path is too long",
            PathRefusal::Char => "the path has a control, non-ASCII or backslash character",
            PathRefusal::Encoding => "the path has a malformed or ambiguous percent-escape",
            PathRefusal::DotSegment => "the path has a . or .. segment",
            PathRefusal::EmptySegment => "the path has an empty segment (//)",
        })
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The normalised path of `uri` (a path with optional query and fragment): escapes of
/// unreserved characters are decoded, other escapes are kept as they are, and a single
/// trailing slash is kept (it still lies below the base path it extends).
pub fn request_path(uri: &[u8]) -> Result<String, PathRefusal> {
    let end = uri
        .iter()
        .position(|b| *b == b'?' || *b == b'#')
        .unwrap_or(uri.len());
    let raw = &uri[..end];
    if raw.is_empty() {
        return Err(PathRefusal::Empty);
    }
    if raw[0] != b'/' {
        return Err(PathRefusal::NotAbsolute);
    }
    if raw.len() > REQUEST_PATH_MAX {
        return Err(PathRefusal::TooLong);
    }
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if !(0x21..=0x7e).contains(&b) || b == b'\\' {
            return Err(PathRefusal::Char);
        }
        if b == b'%' {
            let (hi, lo) = match (raw.get(i + 1).copied(), raw.get(i + 2).copied()) {
                (Some(h), Some(l)) => (hex(h), hex(l)),
                _ => (None, None),
            };
            let decoded = match (hi, lo) {
                (Some(h), Some(l)) => h * 16 + l,
                _ => return Err(PathRefusal::Encoding),
            };
            if decoded.is_ascii_alphanumeric() || matches!(decoded, b'-' | b'_' | b'~') {
                out.push(decoded as char);
            } else if matches!(decoded, b'.' | b'/' | b'\\' | b'%')
                || decoded < 0x20
                || decoded == 0x7f
            {
                return Err(PathRefusal::Encoding);
            } else {
                out.push_str(
                    std::str::from_utf8(&raw[i..i + 3]).map_err(|_| PathRefusal::Encoding)?,
                );
            }
            i += 3;
        } else {
            out.push(b as char);
            i += 1;
        }
    }
    let body = out.strip_suffix('/').unwrap_or(&out);
    if !body.is_empty() {
        for seg in body[1..].split('/') {
            if seg.is_empty() {
                return Err(PathRefusal::EmptySegment);
            }
            if seg == "." || seg == ".." {
                return Err(PathRefusal::DotSegment);
            }
        }
    }
    Ok(out)
}

/// The candidate base paths for `path`, longest first: the path without a trailing slash,
/// then each shorter segment prefix, then `/`. A model API covers the path when its base
/// path is one of these.
pub fn prefixes(path: &str) -> impl Iterator<Item = &str> {
    let body = path.strip_suffix('/').unwrap_or(path);
    let mut next = Some(body);
    std::iter::from_fn(move || {
        let current = next?;
        next = match current.rfind('/') {
            _ if current == "/" || current.is_empty() => None,
            Some(0) => Some("/"),
            Some(i) => Some(&current[..i]),
            None => None,
        };
        Some(if current.is_empty() { "/" } else { current })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::apis::BasePath;
    use proptest::prelude::*;

    fn ok(s: &str) -> String {
        request_path(s.as_bytes()).unwrap()
    }

    fn refused(s: &[u8]) -> PathRefusal {
        request_path(s).unwrap_err()
    }

    #[test]
    fn query_and_fragment_are_cut() {
        assert_eq!(
            ok("/v1/chat/completions?model=x#frag"),
            "/v1/chat/completions"
        );
        assert_eq!(ok("/v1/chat?/../admin"), "/v1/chat");
    }

    #[test]
    fn unreserved_escapes_are_decoded_others_kept() {
        assert_eq!(ok("/%76%31/chat"), "/v1/chat");
        assert_eq!(ok("/v1/a%20b"), "/v1/a%20b");
        assert_eq!(ok("/v1/%E4%BD%A0"), "/v1/%E4%BD%A0");
        assert_eq!(refused(b"/v1/a%00b"), PathRefusal::Encoding);
    }

    #[test]
    fn ambiguous_paths_are_refused() {
        assert_eq!(refused(b"/v1/../admin"), PathRefusal::DotSegment);
        assert_eq!(refused(b"/v1/./chat"), PathRefusal::DotSegment);
        assert_eq!(refused(b"/v1/%2e%2e/admin"), PathRefusal::Encoding);
        assert_eq!(refused(b"/v1/%2E./admin"), PathRefusal::Encoding);
        assert_eq!(refused(b"/v1%2fchat"), PathRefusal::Encoding);
        assert_eq!(refused(b"/v1/%252e"), PathRefusal::Encoding);
        assert_eq!(refused(b"/v1/%zz"), PathRefusal::Encoding);
        assert_eq!(refused(b"/v1/%2"), PathRefusal::Encoding);
        assert_eq!(refused(b"/v1//chat"), PathRefusal::EmptySegment);
        assert_eq!(refused(b"//v1/chat"), PathRefusal::EmptySegment);
        assert_eq!(refused(b"/v1\\chat"), PathRefusal::Char);
        assert_eq!(refused(b"/v1/\xff\xfe"), PathRefusal::Char);
        assert_eq!(refused(b"/v1/a b"), PathRefusal::Char);
        assert_eq!(refused(b"v1/chat"), PathRefusal::NotAbsolute);
        assert_eq!(refused(b"?x"), PathRefusal::Empty);
        assert_eq!(refused(&[b'/'; 3000]), PathRefusal::TooLong);
    }

    #[test]
    fn a_trailing_slash_is_kept() {
        assert_eq!(ok("/v1/chat/"), "/v1/chat/");
        assert_eq!(ok("/"), "/");
    }

    #[test]
    fn prefixes_run_from_longest_to_root() {
        let all: Vec<&str> = prefixes("/v1/chat/completions").collect();
        assert_eq!(all, ["/v1/chat/completions", "/v1/chat", "/v1", "/"]);
        assert_eq!(prefixes("/v1/").collect::<Vec<_>>(), ["/v1", "/"]);
        assert_eq!(prefixes("/").collect::<Vec<_>>(), ["/"]);
    }

    proptest! {
        #[test]
        fn never_panics_and_output_is_unambiguous(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(p) = request_path(&bytes) {
                prop_assert!(p.starts_with('/'));
                prop_assert!(!p.contains("//"));
                prop_assert!(p.split('/').all(|s| s != "." && s != ".."));
                prop_assert!(!p.contains('?') && !p.contains('#') && !p.contains('\\'));
            }
        }

        #[test]
        fn dot_segments_are_never_accepted(a in "[a-z]{1,8}", b in "[a-z]{1,8}", dots in prop::sample::select(vec!["..", ".", "%2e%2e", "%2E", ".%2e"])) {
            let uri = format!("/{a}/{dots}/{b}");
            prop_assert!(request_path(uri.as_bytes()).is_err());
        }

        #[test]
        fn prefixes_agree_with_base_path_covers(path in "(/[a-z0-9]{1,4}){1,5}/?", base in "(/[a-z0-9]{1,4}){0,3}") {
            let base = if base.is_empty() { "/".to_owned() } else { base };
            let bp = BasePath::parse(&base).unwrap();
            let norm = request_path(path.as_bytes()).unwrap();
            let by_prefix = prefixes(&norm).any(|p| p == bp.to_string());
            prop_assert_eq!(by_prefix, bp.covers(&norm));
        }
    }
}
