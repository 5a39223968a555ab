use secure_endpoint::public;

#[derive(serde::Deserialize, validator::Validate)]
struct Upload {
    data: String,
}

#[public(validate = Upload)]
async fn upload(upload: Upload) -> String {
    upload.data
}

fn main() {}
