//! Admission of calls, the same for every transport: at most so many at once (the rest are shed at
//! once rather than queued), each bounded by its deadline.

use std::{future::Future, sync::Arc, time::Duration};

use tokio::sync::Semaphore;

use crate::domain::Error;

/// A caller's deadline is also watched by tonic's timeout layer (outside ours, answering
/// CANCELLED) and often by the caller's own timer, and the caller's clock started before the request
/// reached us. Answering a little early lets the caller receive DEADLINE_EXCEEDED, which is what
/// happened: a tenth of the budget, at most this much.
const MAX_MARGIN: Duration = Duration::from_millis(50);

#[derive(Debug, Clone)]
pub struct Admission {
    in_flight: Arc<Semaphore>,
    request_timeout: Duration,
}

impl Admission {
    pub fn new(max_concurrent_calls: usize, request_timeout: Duration) -> Self {
        Self {
            in_flight: Arc::new(Semaphore::new(max_concurrent_calls)),
            request_timeout,
        }
    }

    /// Runs `work` if there is room, within the shorter of `requested` and the server's timeout.
    pub async fn run<T>(
        &self,
        requested: Option<Duration>,
        work: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let Ok(_permit) = self.in_flight.try_acquire() else {
            return Err(Error::ResourceExhausted(
                "too many calls in flight; retry shortly".into(),
            ));
        };
        tokio::time::timeout(budget(requested, self.request_timeout), work)
            .await
            .unwrap_or(Err(Error::DeadlineExceeded))
    }
}

/// How long a call may run.
fn budget(requested: Option<Duration>, server_limit: Duration) -> Duration {
    match requested {
        Some(r) if r <= server_limit => r.saturating_sub(MAX_MARGIN.min(r / 10)),
        _ => server_limit,
    }
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

    #[tokio::test]
    async fn calls_beyond_the_limit_are_shed_not_queued() {
        let admission = Admission::new(1, Duration::from_secs(5));
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let busy = admission.clone();
        let first = tokio::spawn(async move {
            busy.run(None, async {
                let _ = wait.await;
                Ok(())
            })
            .await
        });
        tokio::task::yield_now().await;
        while admission.in_flight.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let shed = admission.run(None, async { Ok(()) }).await;
        assert!(matches!(shed, Err(Error::ResourceExhausted(_))), "{shed:?}");
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        assert!(
            admission.run(None, async { Ok(()) }).await.is_ok(),
            "room again once the first call ended"
        );
    }
}
