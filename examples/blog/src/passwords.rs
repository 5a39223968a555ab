//! Password hashing on a small pool of threads of its own.
//!
//! An argon2 hash takes about 19 MiB. On tokio's blocking pool, each hash may land on a
//! new thread, and the allocator keeps each thread's freed 19 MiB for that thread: under
//! a burst of logins the resident memory grows with the number of threads that ever
//! hashed (hundreds of MiB), even while only a few hashes run at once. A fixed pool of
//! as many threads as the machine has cores bounds it to that many hashes, and runs
//! them as fast as the cores allow; the routes' `concurrency` bounds how many requests
//! wait for it.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use secure_endpoint::Error;

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads.
pub struct Passwords {
    jobs: Mutex<mpsc::Sender<Job>>,
    /// Verified against when the username is unknown, so that both failures cost the
    /// same time.
    dummy_hash: String,
}

impl Passwords {
    /// Starts one thread per core (at least one).
    pub fn new() -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
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
                            Ok(job) => job(),
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
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
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
