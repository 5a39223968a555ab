use secure_endpoint::public;

#[derive(serde::Deserialize, validator::Validate)]
struct Order {
    account: u64,
    item: String,
}

#[public(validate = Order, limit(rate = "5/m", key = "order.account"), limit(rate = "5/m", key = "order.missing"))]
async fn place(order: Order) -> String {
    order.item
}

fn main() {}
