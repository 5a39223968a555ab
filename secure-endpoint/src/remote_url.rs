//! The one rule for the URLs the crate fetches from (feature `jwks`: key sets;
//! feature `authzen`: a remote decision point): `https://`, or plain `http://` only on a
//! loopback host, since what comes back decides who is let in.

/// `url`, parsed, if `what` may come from it; otherwise why not.
pub(crate) fn secure_url(url: &str, what: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url:?}: {e}"))?;
    let host = parsed.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        other => Err(format!(
            "{url:?}: scheme {other:?}: {what} must come over https (plain http only on a loopback host)"
        )),
    }
}
