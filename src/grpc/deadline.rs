//! Deadlines: the shorter of the caller's `grpc-timeout` and the server's request timeout.

use std::time::Duration;

/// A caller's deadline is also watched by tonic's timeout layer (outside ours, answering
/// CANCELLED) and often by the caller's own timer, and the caller's clock started before the request
/// reached us. Answering a little early lets the caller receive DEADLINE_EXCEEDED, which is what
/// happened: a tenth of the budget, at most this much.
const MAX_MARGIN: Duration = Duration::from_millis(50);

/// Parses a `grpc-timeout` value: at most 8 digits and a unit (H, M, S, m, u, n).
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
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

/// How long a call may run.
pub fn budget(requested: Option<Duration>, server_limit: Duration) -> Duration {
    let limit = requested.map_or(server_limit, |r| r.min(server_limit));
    if requested.is_some_and(|r| r <= server_limit) {
        limit.saturating_sub(MAX_MARGIN.min(limit / 10))
    } else {
        limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_per_the_spec() {
        assert_eq!(parse_grpc_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        for bad in ["", "S", "123456789S", "5s", "-5S", "5"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_shorter_deadline_wins() {
        let server = Duration::from_secs(30);
        assert_eq!(budget(None, server), server);
        assert_eq!(budget(Some(Duration::from_secs(60)), server), server);
        assert_eq!(
            budget(Some(Duration::from_millis(300)), server),
            Duration::from_millis(270)
        );
        assert_eq!(
            budget(Some(Duration::from_secs(5)), server),
            Duration::from_millis(4950)
        );
    }
}
