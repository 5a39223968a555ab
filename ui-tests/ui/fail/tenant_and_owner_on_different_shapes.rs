use secure_endpoint::{Collection, Error, NoQuery, Scope, secure};

struct Doc {
    org_id: String,
    owner_id: String,
}

impl Collection for Doc {
    type State = ();
    type Query = NoQuery;

    async fn list(_scope: Scope<'_>, _query: NoQuery, _state: &()) -> Result<Vec<Self>, Error> {
        Ok(Vec::new())
    }
}

#[secure(auth, owner = "docs[].owner_id", tenant = "docs.org_id")]
async fn my_docs(docs: Vec<Doc>) -> String {
    docs.iter().map(|d| d.owner_id.as_str()).chain(docs.iter().map(|d| d.org_id.as_str())).collect()
}

fn main() {}
