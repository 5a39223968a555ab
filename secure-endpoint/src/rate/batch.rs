//! Requests in flight share round trips to Redis: the limit checks that arrive while one
//! script call is under way wait, and go together in the next call, one script running
//! each request's check in the order they arrived. Each request's answer is the one it
//! would have had alone; a request on a key another request of the same call counted
//! sees that count, as it would have one call later.
//!
//! The calls are made by a task of their own, started when a check finds none running
//! and ending when no check waits: a request that goes away while it waits takes
//! nothing with it, and the checks it shared a call with are answered all the same. A
//! check whose request went away before its call is dropped uncounted. When a call
//! fails, every check waiting then gets the error (and falls back as a failed call
//! does), so that a stalled Redis never builds a queue of calls; a task that ends
//! without answering (its runtime shut down) answers every check left with an error,
//! and a check waits at most [`LONGEST_WAIT`] in any case.
//!
//! A script that Redis stops with an error part-way (out of memory) has written the
//! counts of the requests before the failing one, while every request of the call falls
//! back as a failed call does (counted in memory, or refused with 503 when the settings
//! fail closed): those requests are then counted in Redis as well.

use std::sync::{Arc, Mutex};

use redis::RedisError;
use tokio::sync::oneshot;

use crate::redis_connection::{RedisSettings, revoked_lua};

/// The most requests in one script call.
const MOST_IN_A_CALL: usize = 64;

/// The longest a check waits for its call's answer: past it, the check fails as a call
/// that did not answer does (the connection's own timeouts are half a second).
pub(crate) const LONGEST_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// GCRA for a batch of requests, each with every limit it counts on, in one script,
/// with the time taken once from Redis (`TIME`), so instances with skewed clocks agree.
/// `ARGV[1]` is the number of requests; then, for each request, its number of limits
/// `n`, its token's `iat` in ms (empty for no revocation question) and, for each limit,
/// its emission interval in microseconds and its burst. `KEYS` holds, for each request,
/// its `n` buckets, then, when it asks about revocation, its token id's key (empty for a
/// token without one) and its principal's "revoked before" key.
///
/// For each request, every limit is asked before any is counted: a request one limit
/// refuses spends nothing on the others. A revoked token counts nothing. The stored value
/// is the theoretical arrival time in microseconds (exact in Lua's doubles for
/// centuries); every write carries a TTL of the time until the key is idle again.
///
/// Returns two numbers per request: `0, 0` when every limit admits, `i,
/// retry_after_us` when limit `i` refuses, `-1, 0` for a revoked token.
const GCRA: &str = concat!(
    revoked_lua!(),
    r#"
-- Before Redis 5, a script that reads TIME may only write with effects replication;
-- from Redis 7 on this is a no-op.
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local answers = {}
local k = 0
local a = 2
for r = 1, tonumber(ARGV[1]) do
  local n = tonumber(ARGV[a])
  local issued_at = ARGV[a + 1]
  local limits = a + 2
  a = limits + 2 * n
  local answer, retry = 0, 0
  if issued_at ~= '' and revoked(KEYS[k + n + 1], KEYS[k + n + 2], issued_at) then
    answer = -1
  end
  if answer == 0 then
    local next_tat = {}
    for i = 1, n do
      local emission = tonumber(ARGV[limits + 2 * (i - 1)])
      local tolerance = emission * (tonumber(ARGV[limits + 2 * (i - 1) + 1]) - 1)
      local tat = tonumber(redis.call('GET', KEYS[k + i]))
      if tat == nil or tat < now then
        tat = now
      end
      if tat - now > tolerance then
        answer = i
        retry = tat - now - tolerance
        break
      end
      next_tat[i] = tat + emission
    end
    if answer == 0 then
      for i = 1, n do
        redis.call('SET', KEYS[k + i], next_tat[i], 'PX', math.max(math.ceil((next_tat[i] - now) / 1000), 1))
      end
    end
  end
  answers[2 * r - 1] = answer
  answers[2 * r] = retry
  k = k + n
  if issued_at ~= '' then k = k + 2 end
end
return answers
"#
);

/// The script; one per process, so its hash is computed once.
fn script() -> &'static redis::Script {
    static SCRIPT: std::sync::OnceLock<redis::Script> = std::sync::OnceLock::new();
    SCRIPT.get_or_init(|| redis::Script::new(GCRA))
}

/// One request's check: its buckets with each limit's emission interval in microseconds
/// and burst, and its revocation question (the token id's key, the principal's key, the
/// token's `iat` in ms).
pub(crate) struct Check {
    pub(crate) limits: Vec<(String, u64, u64)>,
    pub(crate) revocation: Option<(String, String, u64)>,
}

/// A check's answer: `(0, 0)` admitted, `(i, retry_after_us)` refused by limit `i`
/// (from 1), `(-1, 0)` revoked.
pub(crate) type Answer = (i64, i64);

/// What a check gets when its call failed: the call's error, shared by every check of it.
pub(crate) type Failure = Arc<RedisError>;

/// Runs `checks` in one script call.
pub(crate) async fn run(
    connection: &mut crate::redis_connection::Connection,
    checks: &[&Check],
) -> Result<Vec<Answer>, RedisError> {
    let mut invocation = script().prepare_invoke();
    invocation.arg(checks.len());
    for check in checks {
        for (bucket, _, _) in &check.limits {
            invocation.key(bucket);
        }
        invocation.arg(check.limits.len());
        match &check.revocation {
            Some((token_key, before_key, issued_at_ms)) => {
                invocation.key(token_key).key(before_key).arg(issued_at_ms);
            }
            None => {
                invocation.arg("");
            }
        }
        for (_, emission_us, burst) in &check.limits {
            invocation.arg(emission_us).arg(burst);
        }
    }
    let flat: Vec<i64> = invocation.invoke_async(connection).await?;
    if flat.len() != 2 * checks.len() {
        return Err(RedisError::from((
            redis::ErrorKind::Parse,
            "the limit script answered for another number of requests",
        )));
    }
    Ok(flat.chunks(2).map(|pair| (pair[0], pair[1])).collect())
}

struct Waiting {
    check: Check,
    answer: oneshot::Sender<Result<Answer, Failure>>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    /// Whether a task is making calls; it takes every check that waits.
    calling: bool,
}

/// The checks of one limit (its requests' asks, all on one Redis) that wait for a
/// call: requests of one route share calls, those of different routes do not.
#[derive(Default)]
pub(crate) struct Batcher {
    queue: Mutex<Queue>,
}

impl Batcher {
    /// `check`'s answer, from the next script call on `settings`' Redis.
    pub(crate) async fn check(
        self: &Arc<Self>,
        settings: &Arc<RedisSettings>,
        check: Check,
    ) -> Result<Answer, Failure> {
        let (answer, answered) = oneshot::channel();
        let start = {
            let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            queue.waiting.push(Waiting { check, answer });
            !std::mem::replace(&mut queue.calling, true)
        };
        if start {
            // The guard is made before the task is spawned: a task dropped before it
            // ever runs still answers the checks and lets the next one start another.
            let calling = Calling {
                batcher: self.clone(),
                finished: false,
            };
            tokio::spawn(calls(calling, settings.clone()));
        }
        match tokio::time::timeout(LONGEST_WAIT, answered).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(failure(
                redis::ErrorKind::Io,
                "the limit's script call ended before it answered",
            )),
            Err(_) => Err(failure(
                redis::ErrorKind::Io,
                "the limit's script call did not answer in time",
            )),
        }
    }

    /// At most `MOST_IN_A_CALL` of the checks waiting, those whose request went away
    /// dropped uncounted; `calling` cleared when none waits, in the same lock.
    fn take(&self) -> Vec<Waiting> {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        queue.waiting.retain(|waiting| !waiting.answer.is_closed());
        if queue.waiting.is_empty() {
            queue.calling = false;
            return Vec::new();
        }
        let take = queue.waiting.len().min(MOST_IN_A_CALL);
        queue.waiting.drain(..take).collect()
    }

    /// Every check waiting, the task still calling.
    fn take_all(&self) -> Vec<Waiting> {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut queue.waiting)
    }
}

fn failure(kind: redis::ErrorKind, why: &'static str) -> Failure {
    Arc::new(RedisError::from((kind, why)))
}

/// Answers every check of `waiting` with `error`.
fn fail(waiting: Vec<Waiting>, error: &Failure) {
    for waiting in waiting {
        let _ = waiting.answer.send(Err(error.clone()));
    }
}

/// Clears the queue's `calling` when the task ends otherwise than by finding no check
/// waiting (its runtime shut down, before or during a call), answering every check
/// left with an error: the next check then starts another task.
struct Calling {
    batcher: Arc<Batcher>,
    finished: bool,
}

impl Drop for Calling {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let left = {
            let mut queue = self.batcher.queue.lock().unwrap_or_else(|p| p.into_inner());
            queue.calling = false;
            std::mem::take(&mut queue.waiting)
        };
        fail(
            left,
            &failure(redis::ErrorKind::Io, "the limit's script calls stopped"),
        );
    }
}

/// The task: one call for the checks waiting, then one for those that came meanwhile,
/// until none waits. A failed call fails every check waiting.
async fn calls(mut calling: Calling, settings: Arc<RedisSettings>) {
    loop {
        let batch = calling.batcher.take();
        if batch.is_empty() {
            calling.finished = true;
            return;
        }
        let checks: Vec<&Check> = batch.iter().map(|waiting| &waiting.check).collect();
        let answers = match settings.connection().await {
            Ok(mut connection) => run(&mut connection, &checks).await,
            Err(error) => Err(error),
        };
        match answers {
            Ok(answers) => {
                for (waiting, answer) in batch.into_iter().zip(answers) {
                    let _ = waiting.answer.send(Ok(answer));
                }
            }
            Err(error) => {
                let error = Arc::new(error);
                fail(batch, &error);
                fail(calling.batcher.take_all(), &error);
            }
        }
    }
}
