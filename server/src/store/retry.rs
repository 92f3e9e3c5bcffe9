//! What the webhook inbox and the provider outbox share: an item is pending until it is done,
//! each failed attempt waits longer before the next, and after the queue's last attempt the
//! item is parked for a person (the operator replays it from `/operator`).

/// Where a queued item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueState {
    /// Waiting for its first or next attempt.
    Pending,
    /// Done exactly once.
    Done,
    /// Parked after its last attempt failed, for a person to look at.
    Failed,
}

text_enum!(QueueState { Pending => "pending", Done => "done", Failed => "failed" });

/// How long a failed item waits before its next attempt: from 2 s, doubling, to at most five
/// minutes.
pub fn backoff_ms(attempts: i64) -> i64 {
    (1000i64 << attempts.min(9)).min(5 * 60 * 1000)
}

/// An item's bookkeeping after one more failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterFailure {
    pub attempts: i64,
    pub next_attempt_at: i64,
    /// `Failed` when that was the last attempt the queue allows.
    pub state: QueueState,
}

/// After a failure, with `attempts` failed before it, in a queue that allows `max`.
pub fn after_failure(attempts: i64, max: i64, now: i64) -> AfterFailure {
    let attempts = attempts + 1;
    AfterFailure {
        attempts,
        next_attempt_at: now + backoff_ms(attempts),
        state: if attempts >= max { QueueState::Failed } else { QueueState::Pending },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_to_five_minutes_and_park_at_the_last_attempt() {
        assert_eq!(backoff_ms(1), 2_000);
        assert_eq!(backoff_ms(8), 256_000);
        assert_eq!(backoff_ms(30), 300_000);
        let first = after_failure(0, 3, 1_000);
        assert_eq!((first.attempts, first.next_attempt_at, first.state), (1, 3_000, QueueState::Pending));
        assert_eq!(after_failure(2, 3, 0).state, QueueState::Failed);
    }
}
