use secure_endpoint::secure;

#[secure(auth)]
async fn echo<T: Send>(value: T) -> &'static str {
    let _ = value;
    "echo"
}

fn main() {}
