//! A Cerbos policy decision point of the test's own: the `cerbos` binary of the npm
//! package `@cerbos/cerbos-linux-x64` (installed into the target directory the first
//! time it is needed), serving a policy directory over HTTP and gRPC on free loopback
//! ports, stopped by its pid when the value is dropped.
//!
//! Cerbos serves the AuthZEN evaluations and its own `PlanResources` on its HTTP port;
//! the gRPC port is given only so that it does not take its default, 3593, which another
//! test's Cerbos may hold.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The Cerbos release the tests run against.
pub const CERBOS_VERSION: &str = "0.55.0";

/// The npm package that ships the Linux x86-64 binary.
const PACKAGE: &str = "@cerbos/cerbos-linux-x64";

/// How long Cerbos may take to answer its health check.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// A running `cerbos server`.
pub struct OwnCerbos {
    child: Child,
    url: String,
    dir: PathBuf,
}

/// The workspace's root: the parent of this crate's directory.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is inside the workspace")
        .to_path_buf()
}

/// The blog's Cerbos policies, `examples/blog/policies/cerbos`.
pub fn blog_policies() -> PathBuf {
    workspace().join("examples/blog/policies/cerbos")
}

/// The `cerbos` binary, installed with npm into `<target>/cerbos-npm/<version>` if it is
/// not there yet. Panics, saying what failed, when it cannot be installed.
pub fn cerbos_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(install).clone()
}

fn install() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let root = target.join("cerbos-npm");
    let binary_in = |prefix: &Path| {
        prefix
            .join("node_modules")
            .join(PACKAGE)
            .join("cerbos-linux-x64")
    };
    let home = root.join(CERBOS_VERSION);
    if binary_in(&home).is_file() {
        return binary_in(&home);
    }
    // Installed beside, then renamed into place in one step, so that test binaries
    // running at once never see half an install.
    let partial = root.join(format!(".partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial)
        .unwrap_or_else(|error| panic!("cannot create {}: {error}", partial.display()));
    let output = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&partial)
        .arg(format!("{PACKAGE}@{CERBOS_VERSION}"))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| {
            panic!("Cerbos is needed and npm, which installs it, cannot run: {error}")
        });
    assert!(
        output.status.success() && binary_in(&partial).is_file(),
        "`npm install {PACKAGE}@{CERBOS_VERSION}` did not install the cerbos binary ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    if std::fs::rename(&partial, &home).is_err() {
        // Another test binary installed it first.
        let _ = std::fs::remove_dir_all(&partial);
    }
    let binary = binary_in(&home);
    assert!(
        binary.is_file(),
        "the cerbos binary is not at {} after its install",
        binary.display()
    );
    binary
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind an ephemeral loopback port")
        .port()
}

impl OwnCerbos {
    /// Cerbos serving the blog's policies ([`blog_policies`]).
    pub fn start() -> OwnCerbos {
        OwnCerbos::serving(&blog_policies())
    }

    /// Cerbos serving the policies of the directory `policies`, once it answers its
    /// health check. Panics with Cerbos's log when it does not start.
    pub fn serving(policies: &Path) -> OwnCerbos {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let binary = cerbos_binary();
        let dir = std::env::temp_dir().join(format!(
            "secure-endpoint-cerbos-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create Cerbos's directory");
        let (http, grpc) = (free_port(), free_port());
        let config = format!(
            "server:\n  httpListenAddr: \"127.0.0.1:{http}\"\n  grpcListenAddr: \"127.0.0.1:{grpc}\"\n\
             storage:\n  driver: disk\n  disk:\n    directory: {policies:?}\n    watchForChanges: false\n\
             telemetry:\n  disabled: true\n",
            policies = policies.display().to_string(),
        );
        let config_path = dir.join("cerbos.yaml");
        std::fs::write(&config_path, config).expect("write Cerbos's configuration");
        let log = std::fs::File::create(dir.join("cerbos.log")).expect("create Cerbos's log");
        let child = Command::new(&binary)
            .arg("server")
            .arg(format!("--config={}", config_path.display()))
            .env("CERBOS_NO_TELEMETRY", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log's handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
        let mut own = OwnCerbos {
            child,
            url: format!("http://127.0.0.1:{http}"),
            dir,
        };
        own.wait_until_ready(http);
        own
    }

    fn wait_until_ready(&mut self, port: u16) {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "cerbos exited ({status}) before it answered:\n{}",
                    self.log()
                );
            }
            if healthy(port) {
                return;
            }
            if Instant::now() > deadline {
                let log = self.log();
                self.stop();
                panic!("cerbos did not answer its health check within {READY_WITHIN:?}:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The base URL of its HTTP API, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What Cerbos has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("cerbos.log")).unwrap_or_default()
    }

    /// Kills the server by its pid and waits for it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether Cerbos on `port` answers `GET /_cerbos/health` with `SERVING`.
fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let request = "GET /_cerbos/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200") && answer.contains("SERVING")
}

impl Drop for OwnCerbos {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
