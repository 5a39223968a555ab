//! Password hashing on a small pool of threads of its own.
//!
//! An argon2 hash takes about 19 MiB. On tokio's blocking pool, each hash may land on a
//! new thread, and the allocator keeps each thread's freed 19 MiB for that thread: under
//! a burst of logins the resident memory grows with the number of threads that ever
//! hashed (hundreds of MiB), even while only a few hashes run at once. A fixed pool of
//! as many threads as the machine has cores bounds it to that many hashes, and runs
//! them as fast as the cores allow; the routes' `concurrency` bounds how many requests
//! wait for it.
//!
//! A job is bounded by the request that queued it: a request dropped before its job
//! starts (its client gone, its permit given back) drops the job too, so a client that
//! disconnects right after its login cannot leave hashing work behind beyond the
//! `concurrency` cap.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use secure_endpoint::Error;

/// A queued hash, and the request waiting for it.
trait Job: Send {
    /// Whether the request that queued it still waits for its answer.
    fn wanted(&self) -> bool;
    fn run(self: Box<Self>);
}

/// `work`, its answer sent to the request awaiting `done`.
struct Queued<T, W> {
    done: tokio::sync::oneshot::Sender<T>,
    work: W,
}

impl<T: Send, W: FnOnce() -> T + Send> Job for Queued<T, W> {
    fn wanted(&self) -> bool {
        !self.done.is_closed()
    }

    fn run(self: Box<Self>) {
        let Queued { done, work } = *self;
        let _ = done.send(work());
    }
}

/// The hashing threads.
pub struct Passwords {
    jobs: Mutex<mpsc::Sender<Box<dyn Job>>>,
    /// Verified against when the username is unknown, so that both failures cost the
    /// same time.
    dummy_hash: String,
}

impl Passwords {
    /// Starts one thread per core (at least one).
    pub fn new() -> Self {
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let queue = Arc::new(Mutex::new(queue));
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        for n in 0..threads {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || {
                    loop {
                        let job = queue.lock().expect("password queue").recv();
                        match job {
                            Ok(job) if job.wanted() => job.run(),
                            // Its request was dropped while it waited: nobody reads it.
                            Ok(_) => {}
                            // The sender is gone: the service is shutting down.
                            Err(_) => return,
                        }
                    }
                })
                .expect("a password thread starts");
        }
        let dummy_hash = Argon2::default()
            .hash_password(b"not a password anyone has")
            .expect("argon2 with default parameters hashes")
            .to_string();
        Passwords {
            jobs: Mutex::new(jobs),
            dummy_hash,
        }
    }

    /// A hash of nothing anyone knows, for the unknown user's login.
    pub fn dummy_hash(&self) -> &str {
        &self.dummy_hash
    }

    /// Runs `work` on a hashing thread.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Box<dyn Job> = Box::new(Queued { done, work });
        self.jobs
            .lock()
            .expect("password queue")
            .send(job)
            .map_err(|_| Error::internal("the password threads are gone"))?;
        result
            .await
            .map_err(|_| Error::internal("a password thread dropped its job"))
    }

    /// The argon2id hash of `password`, as a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, Error> {
        let hashed = self
            .run(move || {
                Argon2::default()
                    .hash_password(password.as_bytes())
                    .map(|hash| hash.to_string())
            })
            .await?;
        hashed.map_err(|e| Error::internal(format!("password hashing failed: {e}")))
    }

    /// Whether `password` matches `hash`.
    pub async fn verify(&self, password: String, hash: String) -> Result<bool, Error> {
        self.run(move || {
            Argon2::default()
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok()
        })
        .await
    }
}

impl Default for Passwords {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::Passwords;

    #[tokio::test]
    async fn a_job_whose_request_is_gone_is_never_run() {
        let passwords = Arc::new(Passwords::new());
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        // Every thread busy until released.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let held = Arc::new(std::sync::Mutex::new(held));
        let busy: Vec<_> = (0..threads)
            .map(|_| {
                let passwords = Arc::clone(&passwords);
                let held = Arc::clone(&held);
                tokio::spawn(async move {
                    passwords
                        .run(move || {
                            let _ = held.lock().unwrap().recv();
                        })
                        .await
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        // A job queued behind them, whose request gives up (a client gone).
        let ran = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&ran);
        let gave_up = tokio::time::timeout(
            Duration::from_millis(20),
            passwords.run(move || counted.fetch_add(1, Ordering::SeqCst)),
        )
        .await;
        assert!(gave_up.is_err(), "the job waited behind the busy threads");
        for _ in 0..threads {
            release.send(()).unwrap();
        }
        for job in busy {
            job.await.unwrap().unwrap();
        }
        // A job queued after it runs, so the queue is drained past the dropped one.
        passwords.run(|| ()).await.unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    }
}
