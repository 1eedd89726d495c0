//! The path of a request that enforcement decides on. A proxy forwards the original URI as
//! it arrived; before it is matched against model APIs' base paths it is cut at the query
//! and fragment and normalised, and anything that another server could read as a different
//! path is refused, so the path we match is the path the upstream serves:
//!
//! - a dot segment, or a segment ending in `.` (Windows servers drop trailing dots);
//! - `//`, a backslash, a control or non-ASCII byte;
//! - `;` (Tomcat, Jetty and Spring cut path parameters: `/chat/..;/admin` is `/admin` there);
//! - a malformed escape, or an escape of `.` `/` `\` `%` `;`, of a space or control
//!   character, or of any byte beyond ASCII (overlong UTF-8 such as `%c0%ae` is a `.` to a
//!   lenient decoder, and compatibility forms such as a fullwidth `．` are one after Unicode
//!   normalisation).

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
    /// `;`, which servers that cut path parameters read as the end of a segment.
    Semicolon,
    /// A malformed escape, or an escape of `.`, `/`, `\`, `%`, `;`, a space, a control
    /// character or a byte beyond ASCII.
    Encoding,
    /// `.` or `..` as a segment, or a segment ending in `.`.
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
            PathRefusal::Semicolon => "the path has a ; (a path parameter)",
            PathRefusal::Encoding => "the path has a malformed or ambiguous percent-escape",
            PathRefusal::DotSegment => "the path has a . or .. segment, or one ending in .",
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
        if b == b';' {
            return Err(PathRefusal::Semicolon);
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
            } else if matches!(decoded, b'.' | b'/' | b'\\' | b'%' | b';')
                || !(0x21..0x7f).contains(&decoded)
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
            if seg.ends_with('.') {
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
        assert_eq!(ok("/v1/a%40b%3Ac"), "/v1/a%40b%3Ac");
        assert_eq!(refused(b"/v1/a%00b"), PathRefusal::Encoding);
    }

    #[test]
    fn what_servlet_containers_and_lenient_decoders_read_differently_is_refused() {
        assert_eq!(refused(b"/v1/chat/..;/admin/x"), PathRefusal::Semicolon);
        assert_eq!(refused(b"/v1/chat/.;/x"), PathRefusal::Semicolon);
        assert_eq!(refused(b"/v1/chat;jsessionid=abc"), PathRefusal::Semicolon);
        assert_eq!(refused(b"/v1/chat/%3b/x"), PathRefusal::Encoding);
        assert_eq!(
            refused(b"/v1/chat/%c0%ae%c0%ae/admin"),
            PathRefusal::Encoding
        );
        assert_eq!(refused(b"/v1/%E4%BD%A0"), PathRefusal::Encoding);
        assert_eq!(
            refused(b"/v1/%EF%BC%8E%EF%BC%8E/admin"),
            PathRefusal::Encoding
        );
        assert_eq!(refused(b"/v1/admin%20"), PathRefusal::Encoding);
        assert_eq!(refused(b"/v1/admin%7f"), PathRefusal::Encoding);
        assert_eq!(refused(b"/v1/admin."), PathRefusal::DotSegment);
        assert_eq!(refused(b"/v1/admin.../x"), PathRefusal::DotSegment);
        assert_eq!(refused(b"/v1/%u002e%u002e/admin"), PathRefusal::Encoding);
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

    /// How other software reads a path, to hold ours against.
    mod readers {
        fn unhex(b: u8) -> u8 {
            super::hex(b).unwrap_or(0)
        }

        /// Every `%XX` decoded to its byte.
        pub fn decode_all(s: &str) -> Vec<u8> {
            let b = s.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' && i + 2 < b.len() {
                    out.push(unhex(b[i + 1]) * 16 + unhex(b[i + 2]));
                    i += 3;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            out
        }

        /// A lenient decoder's view of bytes: overlong two-byte forms of ASCII are that
        /// ASCII, and fullwidth forms (U+FF01..U+FF5E) become ASCII after NFKC.
        pub fn lenient_text(bytes: &[u8]) -> String {
            let mut out = String::new();
            let mut i = 0;
            while i < bytes.len() {
                let b = bytes[i];
                if (b == 0xc0 || b == 0xc1) && i + 1 < bytes.len() {
                    out.push(
                        (((b & 0x1f) as u32) << 6 | (bytes[i + 1] & 0x3f) as u32) as u8 as char,
                    );
                    i += 2;
                    continue;
                }
                let len = match b {
                    0xe0..=0xef => 3,
                    0xc2..=0xdf => 2,
                    0xf0..=0xf4 => 4,
                    _ => 1,
                };
                let chunk = &bytes[i..(i + len).min(bytes.len())];
                match std::str::from_utf8(chunk) {
                    Ok(t) => {
                        for c in t.chars() {
                            let u = c as u32;
                            if (0xff01..=0xff5e).contains(&u) {
                                out.push(char::from_u32(u - 0xfee0).unwrap_or(c));
                            } else {
                                out.push(c);
                            }
                        }
                    }
                    Err(_) => out.push('\u{fffd}'),
                }
                i += chunk.len().max(1);
            }
            out
        }

        /// Segments after resolving `.` and `..` and dropping empty ones.
        pub fn resolve<'a>(segments: impl Iterator<Item = &'a str>) -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            for seg in segments {
                match seg {
                    "" | "." => {}
                    ".." => {
                        out.pop();
                    }
                    s => out.push(s.to_owned()),
                }
            }
            out
        }

        /// RFC 3986: unreserved escapes decoded, dot segments removed.
        pub fn rfc3986(path: &str) -> Vec<String> {
            let b = path.as_bytes();
            let mut out = String::new();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' && i + 2 < b.len() {
                    let d = unhex(b[i + 1]) * 16 + unhex(b[i + 2]);
                    if d.is_ascii_alphanumeric() || matches!(d, b'-' | b'.' | b'_' | b'~') {
                        out.push(d as char);
                    } else {
                        out.push_str(&path[i..i + 3]);
                    }
                    i += 3;
                } else {
                    out.push(b[i] as char);
                    i += 1;
                }
            }
            resolve(out.split('/'))
        }

        /// Tomcat / Jetty / Spring: path parameters cut at `;` in each segment, then
        /// everything decoded (leniently), backslashes as slashes, trailing dots dropped.
        pub fn servlet(path: &str) -> Vec<String> {
            let cut: Vec<&str> = path
                .split('/')
                .map(|s| s.split(';').next().unwrap_or(""))
                .collect();
            let text = lenient_text(&decode_all(&cut.join("/"))).replace('\\', "/");
            let trimmed: Vec<String> = text
                .split('/')
                .map(|s| {
                    if s.chars().all(|c| c == '.') {
                        s.to_owned()
                    } else {
                        s.trim_end_matches(['.', ' ']).to_owned()
                    }
                })
                .collect();
            resolve(trimmed.iter().map(String::as_str))
        }

        /// Python (`urllib.parse.unquote` then `posixpath.normpath`), after NFKC.
        pub fn python(path: &str) -> Vec<String> {
            let text = lenient_text(&decode_all(path));
            resolve(text.split('/'))
        }
    }

    proptest! {
        #[test]
        fn no_accepted_path_reads_differently_elsewhere(
            segs in proptest::collection::vec(prop::sample::select(vec![
                "v1", "chat", "admin", "a", "", ".", "..", "...", "..;", ".;", ";jsessionid=x",
                "chat;x", "%2e", "%2E%2e", "%2f", "%3b", "%5c", "%c0%ae", "%c0%af", "%e4%bd%a0",
                "%ef%bc%8e%ef%bc%8e", "%20", "admin%20", "admin.", "%61dmin", "a%40b", "%7e",
                "\\..", "x%00", "~u", "-_",
            ]), 1..6),
        ) {
            let path = format!("/{}", segs.join("/"));
            if let Ok(ours) = request_path(path.as_bytes()) {
                let segments = |s: &str| -> Vec<String> {
                    s.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect()
                };
                let decoded = segments(&readers::lenient_text(&readers::decode_all(&ours)));
                prop_assert_eq!(readers::rfc3986(&path), segments(&ours), "RFC 3986 on {}", path);
                prop_assert_eq!(readers::servlet(&path), decoded.clone(), "servlet on {}", path);
                prop_assert_eq!(readers::python(&path), decoded, "python on {}", path);
            }
        }

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
