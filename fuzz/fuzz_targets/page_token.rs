//! `next_token` decoding: `PageTokens::open` on arbitrary strings and query bindings, and the
//! round trip of issued tokens. An input is text, one field a line (missing lines are empty):
//!
//! ```text
//! a token to open
//! the binding: the call's name, then its parameters, split by `|`; `+` and `-` are flags on/off
//! another binding
//! a cursor: `row RESOURCE KEY`, `resource RESOURCE` or `key KEY`
//! an alteration of the issued token: `INDEX CHAR`
//! ```
//!
//! Checked: opening never panics and refuses with INVALID_ARGUMENT on `next_token`; a token that
//! opens is exactly the one the service issues for that cursor and binding (no second spelling of
//! a token is accepted); an issued token opens to its cursor for its own binding only, under its
//! own key only, and not at all once one character of it changes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tagging_service::domain::{Cursor, Error, PageTokens, QueryBinding};

/// The service's keys are 32 random bytes.
const KEY: [u8; 32] = [0x5a; 32];
const OTHER_KEY: [u8; 32] = [0xa5; 32];
/// Keys are at most 128 characters: no cursor the service issues carries a longer one.
const MAX_KEY_CHARS: usize = 128;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let mut line = || lines.next().unwrap_or_default();
    let (token, binding, other_binding, cursor, alteration) =
        (line(), line(), line(), line(), line());
    let tokens = PageTokens::new(KEY.to_vec());

    // Arbitrary text: refused cleanly, or exactly a token this key issues for this binding.
    match tokens.open(token, &bind(binding)) {
        Ok(None) => assert!(token.is_empty()),
        Ok(Some(cursor)) => assert_eq!(tokens.issue(&bind(binding), &cursor), token),
        Err(e) => refused(&e),
    }

    let Some(cursor) = parse_cursor(cursor) else {
        return;
    };
    let issued = tokens.issue(&bind(binding), &cursor);
    assert_eq!(
        tokens.open(&issued, &bind(binding)).ok(),
        Some(Some(cursor)),
        "{issued}"
    );
    if spelled(other_binding) != spelled(binding) {
        match tokens.open(&issued, &bind(other_binding)) {
            Err(e) => refused(&e),
            Ok(c) => panic!("opened for another binding: {c:?}"),
        }
    }
    match PageTokens::new(OTHER_KEY.to_vec()).open(&issued, &bind(binding)) {
        Err(e) => refused(&e),
        Ok(c) => panic!("opened under another key: {c:?}"),
    }
    if let Some(altered) = alter(&issued, alteration) {
        match tokens.open(&altered, &bind(binding)) {
            Err(e) => refused(&e),
            Ok(c) => panic!("an altered token {altered} opened: {c:?}"),
        }
    }
});

fn refused(e: &Error) {
    match e {
        Error::InvalidArgument(v) => {
            assert!(v.len() == 1 && v[0].field == "next_token", "{v:?}")
        }
        other => panic!("not INVALID_ARGUMENT: {other:?}"),
    }
}

fn parse_cursor(line: &str) -> Option<Cursor> {
    let short = |key: &str| key.chars().count() <= MAX_KEY_CHARS;
    let (kind, rest) = line.split_once(' ')?;
    match kind {
        "row" => {
            let (resource, key) = rest.split_once(' ').unwrap_or((rest, ""));
            let resource = resource.parse().ok()?;
            short(key).then(|| Cursor::TagRow {
                resource,
                key: key.to_owned(),
            })
        }
        "resource" => Some(Cursor::Resource(rest.parse().ok()?)),
        "key" => short(rest).then(|| Cursor::Key(rest.to_owned())),
        _ => None,
    }
}

/// The token with one character replaced; `None` when that changes nothing.
fn alter(token: &str, alteration: &str) -> Option<String> {
    let (index, with) = alteration.split_once(' ')?;
    let with = with.chars().next()?;
    let mut chars: Vec<char> = token.chars().collect();
    let at = index.parse::<usize>().ok()? % chars.len();
    (chars[at] != with).then(|| {
        chars[at] = with;
        chars.into_iter().collect()
    })
}

/// A binding as the service builds one: the call's name, then texts and flags.
fn bind(line: &str) -> QueryBinding {
    let mut parts = line.split('|');
    let call = parts.next().unwrap_or_default();
    parts.fold(QueryBinding::new(call), |binding, part| match part {
        "+" => binding.flag(true),
        "-" => binding.flag(false),
        text => binding.text(text),
    })
}

/// What a binding covers, to tell which bindings must differ: a flag is the text `1` or `0`.
fn spelled(line: &str) -> Vec<&str> {
    line.split('|')
        .enumerate()
        .map(|(i, part)| match part {
            "+" if i > 0 => "1",
            "-" if i > 0 => "0",
            text => text,
        })
        .collect()
}
