//! [`ApiKey`]: a secret that never prints.

use std::fmt;
use std::sync::Arc;

/// An API key. Its `Debug` and `Display` print `[redacted]`, never the key, so a key cannot leak
/// through a log line, an error message or a `{:?}` of the provider that holds it.
///
/// ```
/// use workflow_runtime::provider::ApiKey;
///
/// let key = ApiKey::new("sk-canary");
/// assert_eq!(format!("{key} {key:?}"), "[redacted] ApiKey([redacted])");
/// assert_eq!(key.expose_secret(), "sk-canary");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Arc<str>);

impl ApiKey {
    /// Wraps `key`.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(Arc::from(key.into()))
    }

    /// The key in environment variable `name`, if it is set and not empty.
    pub fn from_env(name: &str) -> Option<Self> {
        std::env::var(name)
            .ok()
            .filter(|key| !key.trim().is_empty())
            .map(|key| ApiKey::new(key.trim()))
    }

    /// The key itself, to put into a request header. Nothing else should read it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// `text` with the key replaced by `[redacted]` wherever it is: for messages a server
    /// sends back, which may quote it. The key counts whole, or as any `PARTIAL` of its
    /// characters in a row or more (a server that cut it short, or quotes only its end, as in
    /// `sk-...a1b2c3d4`), each character as it is or JSON-escaped (`\u0073`, `\/`), so that
    /// an escaped echo is caught too.
    #[cfg(feature = "http")]
    pub(crate) fn scrub(&self, text: &str) -> String {
        let key: Vec<char> = self.0.chars().collect();
        let least = PARTIAL.min(key.len());
        if least == 0 {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            match piece(rest, &key, least) {
                Some(bytes) => {
                    out.push_str(REDACTED);
                    rest = &rest[bytes..];
                }
                None => {
                    out.push(c);
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
        out
    }

    /// Drops the start of the key (one character or more, as it is or JSON-escaped) from the
    /// end of `text`: what is left of a key at the place a message was cut.
    #[cfg(feature = "http")]
    pub(crate) fn trim_cut(&self, text: &mut String) {
        let key: Vec<char> = self.0.chars().collect();
        let tail = text.len().saturating_sub(key.len() * ESCAPE_LEN);
        let start = (tail..text.len()).find(|&at| {
            text.is_char_boundary(at) && {
                let (chars, bytes) = prefix(&text[at..], &key);
                chars > 0 && at + bytes == text.len()
            }
        });
        if let Some(start) = start {
            text.truncate(start);
        }
    }
}

/// What a secret is replaced with.
#[cfg(feature = "http")]
const REDACTED: &str = "[redacted]";

/// The fewest characters of a key in a row that count as the key when the rest is not there
/// (a server that cut it short, or shows only its end): 6, or the whole key if it is
/// shorter. Keys are random: six of their characters in a row do not occur in a message by
/// chance.
#[cfg(feature = "http")]
const PARTIAL: usize = 6;

/// The longest a JSON-escaped character is: `\uXXXX`.
#[cfg(feature = "http")]
const ESCAPE_LEN: usize = 6;

/// How many bytes of the start of `text` are the longest piece of `key` there, if it has
/// `least` characters or more: a piece from anywhere in the key, each character as it is or
/// JSON-escaped.
#[cfg(feature = "http")]
fn piece(text: &str, key: &[char], least: usize) -> Option<usize> {
    (0..=key.len().saturating_sub(least))
        .filter_map(|from| match prefix(text, &key[from..]) {
            (chars, bytes) if chars >= least => Some(bytes),
            _ => None,
        })
        .max()
}

/// How many of the first characters of `key` start `text`, each as it is or JSON-escaped, and
/// how many bytes of `text` they take.
#[cfg(feature = "http")]
fn prefix(text: &str, key: &[char]) -> (usize, usize) {
    let mut at = 0;
    for (matched, &expected) in key.iter().enumerate() {
        let rest = &text[at..];
        if rest.starts_with(expected) {
            at += expected.len_utf8();
            continue;
        }
        match escaped(rest) {
            Some((c, len)) if c == expected => at += len,
            _ => return (matched, at),
        }
    }
    (key.len(), at)
}

/// The character a JSON escape at the start of `text` stands for (`\uXXXX`, `\/`), and its
/// length.
#[cfg(feature = "http")]
fn escaped(text: &str) -> Option<(char, usize)> {
    let rest = text.strip_prefix('\\')?;
    if rest.starts_with('/') {
        return Some(('/', 2));
    }
    let hex = rest.strip_prefix('u')?.get(..4)?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
    Some((c, ESCAPE_LEN))
}

/// `url` with its userinfo (`user:password@`, which the HTTP client sends as basic
/// authentication) replaced by `[redacted]`, for messages and `Debug`. `url` need not be a
/// valid URL: the userinfo is what comes before the last `@` of the part after `://` that
/// precedes any `?` or `#`.
#[cfg(feature = "http")]
pub(crate) fn redact_userinfo(url: &str) -> std::borrow::Cow<'_, str> {
    let start = url.find("://").map_or(0, |at| at + 3);
    let end = url[start..]
        .find(['?', '#'])
        .map_or(url.len(), |at| start + at);
    match url[start..end].rfind('@') {
        Some(at) => format!("{}{REDACTED}{}", &url[..start], &url[start + at..]).into(),
        None => url.into(),
    }
}

impl From<String> for ApiKey {
    fn from(key: String) -> Self {
        ApiKey::new(key)
    }
}

impl From<&str> for ApiKey {
    fn from(key: &str) -> Self {
        ApiKey::new(key)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `url` as it may be shown: its userinfo, if it has one, replaced by `[redacted]`.
#[cfg(feature = "http")]
pub(crate) fn shown_url(url: &reqwest::Url) -> std::borrow::Cow<'_, str> {
    let mut shown = url.clone();
    // Neither fails on a URL that has userinfo, which is one with a host.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    if shown == *url {
        return url.as_str().into();
    }
    let text = shown.as_str();
    match text.find("://") {
        Some(at) => format!("{}{REDACTED}@{}", &text[..at + 3], &text[at + 3..]).into(),
        None => text.to_owned().into(),
    }
}

#[cfg(all(test, feature = "http"))]
mod tests {
    use super::*;

    #[test]
    fn scrub_finds_the_key_whole_cut_short_or_escaped() {
        let key = ApiKey::new("sk-abcdefgh/ij");
        let cases = [
            ("a sk-abcdefgh/ij b", "a [redacted] b"),
            ("sk-abcdefgh/ijsk-abcdefgh/ij", "[redacted][redacted]"),
            ("cut: sk-abcdef…", "cut: [redacted]…"),
            ("short sk-ab", "short sk-ab"),
            (r"\u0073k-abcdefgh\/ij", "[redacted]"),
            (r"\u0073\u006B-abcdefgh\u002fij!", "[redacted]!"),
            (r"\u00zz sk", r"\u00zz sk"),
            ("é sk-abcdefgh/ij é", "é [redacted] é"),
            // A piece of six characters or more, from anywhere in the key.
            ("key sk-...defgh/ij.", "key sk-...[redacted]."),
            ("the middle: bcdefgh", "the middle: [redacted]"),
            (r"escaped end: efgh\/ij", "escaped end: [redacted]"),
            ("five: fgh/i", "five: fgh/i"),
        ];
        for (text, scrubbed) in cases {
            assert_eq!(key.scrub(text), scrubbed, "{text}");
        }
        assert_eq!(ApiKey::new("").scrub("text"), "text");
        assert_eq!(ApiKey::new("abc").scrub("xabcx ab"), "x[redacted]x ab");
    }

    #[test]
    fn trim_cut_drops_the_start_of_the_key_at_the_end() {
        let key = ApiKey::new("sk-abcdefgh");
        for (text, trimmed) in [
            ("message sk-ab", "message "),
            (r"message \u0073k-a", "message "),
            ("message s", "message "),
            ("message sk-x", "message sk-x"),
            ("message", "message"),
        ] {
            let mut text = text.to_owned();
            key.trim_cut(&mut text);
            assert_eq!(text, trimmed);
        }
    }

    #[test]
    fn userinfo_is_redacted() {
        for (url, shown) in [
            ("https://u:p@host/v1", "https://[redacted]@host/v1"),
            ("https://p@host", "https://[redacted]@host"),
            ("u:p@host/v1", "[redacted]@host/v1"),
            ("https://host/v1?to=a@b", "https://host/v1?to=a@b"),
            ("https://host/v1", "https://host/v1"),
        ] {
            assert_eq!(redact_userinfo(url), shown, "{url}");
        }
        let url = reqwest::Url::parse("https://u:p@host:8080/v1").expect("a URL");
        assert_eq!(shown_url(&url), "https://[redacted]@host:8080/v1");
        let url = reqwest::Url::parse("https://host/v1/@x").expect("a URL");
        assert_eq!(shown_url(&url), "https://host/v1/@x");
    }
}
