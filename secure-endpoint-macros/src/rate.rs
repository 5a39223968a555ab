//! The one `COUNT/PERIOD` and duration grammar, from `secure-endpoint-grammar`, which the
//! runtime's `Rate::parse` uses too: here its errors become diagnostics on the string.

use syn::LitStr;

use crate::ast::Rate;

/// `rate = "10/10s"`, parsed at compile time.
pub fn parse(lit: &LitStr) -> syn::Result<Rate> {
    let (count, period_ms) = secure_endpoint_grammar::parse_rate(&lit.value())
        .map_err(|why| syn::Error::new_spanned(lit, format!("invalid rate: {why}")))?;
    Ok(Rate { count, period_ms })
}

/// `timeout = "5s"`, in milliseconds, parsed at compile time.
pub fn duration(lit: &LitStr) -> syn::Result<u64> {
    secure_endpoint_grammar::parse_duration(&lit.value())
        .map_err(|why| syn::Error::new_spanned(lit, format!("invalid duration: {why}")))
}
