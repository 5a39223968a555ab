use secure_endpoint::public;

#[public(limit(rate = "10/m", mode = "dry-run"))]
async fn listing() {}

#[public(rate = "10/m", rate_mode = "maybe")]
async fn search() {}

#[public(rate_mode = "report")]
async fn feed() {}

fn main() {}
