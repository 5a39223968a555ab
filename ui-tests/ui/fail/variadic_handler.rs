use secure_endpoint::public;

#[public]
async unsafe extern "C" fn count(first: i32, _rest: ...) -> i32 {
    first
}

fn main() {}
