use secure_endpoint::{Error, Resource, secure};

struct Doc {
    org_id: String,
}

impl Resource for Doc {
    type Key = i64;
    type State = ();

    async fn load(_id: i64, _state: &()) -> Result<Option<Self>, Error> {
        Ok(None)
    }
}

#[secure(tenant = "doc.org_id")]
async fn read_doc(doc: Doc) -> String {
    doc.org_id
}

fn main() {}
