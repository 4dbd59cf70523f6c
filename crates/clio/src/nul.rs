//! NUL characters in Clio's JSON. A `\u0000` escape is valid JSON (pasted from a PDF, say), but
//! PostgreSQL stores it in neither `text` nor `jsonb`: one such field would fail every write of
//! its event, retry after retry, and then its dead letter too. Everything Clio sends is therefore
//! read with its NULs replaced by U+FFFD, the character for "unrepresentable".

use std::borrow::Cow;

const NUL: &[u8] = b"\\u0000";
const REPLACEMENT: &[u8] = b"\\ufffd";

/// `json` with every `\u0000` escape replaced by `\ufffd`; borrowed, and unchanged, when there is
/// none. Only valid JSON is meant: there every backslash starts an escape inside a string, so an
/// escaped backslash followed by `u0000` is told apart from the escape itself.
pub fn without_nul(json: &[u8]) -> Cow<'_, [u8]> {
    if !json.windows(NUL.len()).any(|w| w == NUL) {
        return Cow::Borrowed(json);
    }
    let mut out = Vec::with_capacity(json.len());
    let mut i = 0;
    while i < json.len() {
        if json[i] != b'\\' {
            out.push(json[i]);
            i += 1;
        } else if json[i..].starts_with(NUL) {
            out.extend_from_slice(REPLACEMENT);
            i += NUL.len();
        } else {
            // Any other escape: copy it whole, so its second byte is never read as a backslash.
            out.extend_from_slice(&json[i..(i + 2).min(json.len())]);
            i += 2;
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::without_nul;

    fn text(json: &str) -> String {
        String::from_utf8(without_nul(json.as_bytes()).into_owned()).expect("utf-8")
    }

    #[test]
    fn nul_escapes_become_the_replacement_character() {
        let out = text(r#"{"name":"Ja\u0000ne","notes":["\u0000"]}"#);
        let v: serde_json::Value = serde_json::from_str(&out).expect("still JSON");
        assert_eq!(v["name"], "Ja\u{fffd}ne");
        assert_eq!(v["notes"][0], "\u{fffd}");
    }

    #[test]
    fn an_escaped_backslash_before_u0000_is_text_and_kept() {
        let json = r#"{"path":"C:\\u0000.txt","n":"\\\u0000"}"#;
        let v: serde_json::Value = serde_json::from_str(&text(json)).expect("JSON");
        assert_eq!(v["path"], "C:\\u0000.txt");
        assert_eq!(v["n"], "\\\u{fffd}");
    }

    #[test]
    fn json_without_nul_is_borrowed_untouched() {
        let json = br#"{"a":"\u0001\n\"","b":1}"#;
        assert!(matches!(
            without_nul(json),
            std::borrow::Cow::Borrowed(b) if b == json
        ));
    }
}
