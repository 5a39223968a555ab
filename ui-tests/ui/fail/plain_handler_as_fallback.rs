use secure_endpoint::SecureRouter;

async fn not_found() -> &'static str {
    "nothing here"
}

fn main() {
    let _app: SecureRouter = SecureRouter::new().fallback(not_found);
}
