use secure_endpoint::secure;

#[secure(auth)]
struct Me;

fn main() {}
