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

#[cfg(test)]
mod tests {
    use super::*;

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
