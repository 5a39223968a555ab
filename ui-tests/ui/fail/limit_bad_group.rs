use secure_endpoint::public;

#[public(limit(rate = "100/m", group = "all writes"))]
async fn write() -> &'static str {
    "written"
}

fn main() {}
