//! What a call carries in its headers, read the same way by both faces: its request id, its
//! token and its deadline. gRPC metadata and HTTP headers differ only in how a value is fetched.

use std::time::Duration;

use crate::telemetry::{new_request_id, usable_request_id};

/// The caller's `x-request-id` when it is one we can echo, else a fresh one.
pub fn request_id(sent: Option<&str>) -> String {
    usable_request_id(sent).unwrap_or_else(new_request_id)
}

/// What every call is authenticated and bounded by.
#[derive(Debug, Clone)]
pub struct CallHeaders {
    /// `Bearer <token>` in `authorization`, else `x-auth-token`.
    pub token: Option<String>,
    /// The caller's `grpc-timeout`, which REST callers may send too.
    pub deadline: Option<Duration>,
}

impl CallHeaders {
    /// Reads the headers through `header`, which answers a header's value as text.
    pub fn read<'a>(header: impl Fn(&str) -> Option<&'a str>) -> Self {
        Self {
            token: presented_token(header("authorization"), header("x-auth-token"))
                .map(str::to_owned),
            deadline: header("grpc-timeout").and_then(parse_grpc_timeout),
        }
    }
}

/// The token of a request: `Bearer <token>` in `authorization`, else `x-auth-token`.
pub fn presented_token<'a>(
    authorization: Option<&'a str>,
    x_auth_token: Option<&'a str>,
) -> Option<&'a str> {
    authorization
        .and_then(|a| {
            a.strip_prefix("Bearer ")
                .or_else(|| a.strip_prefix("bearer "))
        })
        .or(x_auth_token)
        .map(str::trim)
}

/// Parses a `grpc-timeout` value: at most 8 digits and a unit (H, M, S, m, u, n).
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    // A header value may hold any text: split only where a character ends.
    let (digits, unit) = value.split_at_checked(value.len().checked_sub(1)?)?;
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_per_the_spec() {
        assert_eq!(parse_grpc_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        // The last two came from the fuzzer: a header read as text may end inside a character.
        for bad in ["", "S", "123456789S", "5s", "-5S", "5", "1n\u{FFFD}", "5é"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad}");
        }
    }

    #[test]
    fn presented_token_prefers_bearer() {
        assert_eq!(presented_token(Some("Bearer t1"), Some("t2")), Some("t1"));
        assert_eq!(presented_token(None, Some("t2")), Some("t2"));
        assert_eq!(presented_token(Some("Basic x"), None), None);
    }

    #[test]
    fn headers_are_read_by_name() {
        let read = CallHeaders::read(|name| match name {
            "x-auth-token" => Some(" tok "),
            "grpc-timeout" => Some("2S"),
            _ => None,
        });
        assert_eq!(read.token.as_deref(), Some("tok"));
        assert_eq!(read.deadline, Some(Duration::from_secs(2)));
        assert_eq!(request_id(Some("req-1")), "req-1");
        assert_ne!(
            request_id(Some("bad id")),
            "bad id",
            "an unusable id is replaced"
        );
        assert_eq!(CallHeaders::read(|_| None).token, None);
    }
}
