//! The attribute's arguments into [`Args`], and nothing else: the item is parsed in
//! `ast`, and a rule about two arguments together is `check`'s. What is checked here is
//! one value on its own (a name's characters, a string not empty, a rate's grammar),
//! where the value is read.
//!
//! Each comma-separated argument is parsed on its own, so that one malformed argument
//! does not hide the mistakes in the others.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Ident, LitStr, Path, Token, Type};

use crate::ast::{Arg, Args, LimitArgs, Names, OnPath, OwnerPath, Rate, RateKey};
use crate::ctxt::Ctxt;
use crate::suggest::unknown_in;

mod kw {
    syn::custom_keyword!(auth);
    syn::custom_keyword!(role);
    syn::custom_keyword!(roles);
    syn::custom_keyword!(scope);
    syn::custom_keyword!(scopes);
    syn::custom_keyword!(owner);
    syn::custom_keyword!(owner_or_role);
    syn::custom_keyword!(validate);
    syn::custom_keyword!(validate_query);
    syn::custom_keyword!(rate);
    syn::custom_keyword!(rate_key);
    syn::custom_keyword!(reason);
    syn::custom_keyword!(timeout);
    syn::custom_keyword!(concurrency);
    syn::custom_keyword!(tenant);
    syn::custom_keyword!(optional_auth);
    syn::custom_keyword!(limit);
    syn::custom_keyword!(key);
    syn::custom_keyword!(on);
    syn::custom_keyword!(group);
    syn::custom_keyword!(except);
    syn::custom_keyword!(mode);
    syn::custom_keyword!(can);
    syn::custom_keyword!(rate_mode);
}

/// Every argument name of the grammar, for did-you-mean hints.
pub(crate) const ARGUMENTS: &[&str] = &[
    "auth",
    "role",
    "roles",
    "scope",
    "scopes",
    "owner",
    "owner_or_role",
    "validate",
    "validate_query",
    "rate",
    "rate_key",
    "rate_mode",
    "reason",
    "timeout",
    "concurrency",
    "tenant",
    "optional_auth",
    "limit",
    "can",
    "on",
];

/// The arguments of `limit(...)`.
pub(crate) const LIMIT_ARGUMENTS: &[&str] = &["rate", "key", "on", "group", "except", "mode"];

/// Parses the attribute's arguments, recording every error in `cx`.
pub fn parse_args(cx: &mut Ctxt, tokens: TokenStream) -> Args {
    let mut args = Args::default();
    for chunk in split_top_level_commas(tokens) {
        let parser = |input: ParseStream| parse_one(cx, &mut args, input);
        if let Err(error) = parser.parse2(chunk) {
            cx.push(error);
        }
    }
    args
}

/// Splits at commas outside any group; an empty piece (a doubled or leading comma) is an
/// error of its own.
fn split_top_level_commas(tokens: TokenStream) -> Vec<TokenStream> {
    let mut chunks = Vec::new();
    let mut current = TokenStream::new();
    let mut trees = tokens.into_iter().peekable();
    while let Some(tree) = trees.next() {
        match &tree {
            TokenTree::Punct(p) if p.as_char() == ',' => {
                let done = std::mem::take(&mut current);
                if done.is_empty() {
                    // Let the parser report "expected argument" on this comma.
                    chunks.push(tree.into_token_stream());
                } else {
                    chunks.push(done);
                }
                continue;
            }
            _ => current.extend([tree]),
        }
        if trees.peek().is_none() {
            chunks.push(std::mem::take(&mut current));
        }
    }
    chunks
}

fn parse_one(cx: &mut Ctxt, args: &mut Args, input: ParseStream) -> syn::Result<()> {
    let lookahead = input.lookahead1();
    if lookahead.peek(kw::auth) {
        let keyword = keyword::<kw::auth>(input)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            if !input.peek(LitStr) {
                // `auth` is recorded all the same, so the mistake is reported once.
                let error = input.error(
                    "`auth` takes nothing, or the name of an authenticator: `auth` or `auth = \"api_key\"`",
                );
                skip_rest(input)?;
                set(
                    cx,
                    &mut args.auth,
                    Arg {
                        keyword,
                        value: None,
                    },
                    None,
                );
                return Err(error);
            }
            let name: LitStr = input.parse()?;
            let valid = !name.value().is_empty()
                && name
                    .value()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
            if !valid {
                set(
                    cx,
                    &mut args.auth,
                    Arg {
                        keyword,
                        value: None,
                    },
                    None,
                );
                return Err(syn::Error::new_spanned(
                    &name,
                    "an authenticator's name is letters, digits, `_` and `-`, as given to `Security::builder().named_authenticator(…)`",
                ));
            }
            Some(name)
        } else {
            None
        };
        set(cx, &mut args.auth, Arg { keyword, value }, None);
    } else if lookahead.peek(kw::roles) {
        let keyword = keyword::<kw::roles>(input)?;
        let value = name_list(input, &keyword, "role")?;
        set(cx, &mut args.roles, Arg { keyword, value }, Some("role"));
    } else if lookahead.peek(kw::role) {
        let keyword = keyword::<kw::role>(input)?;
        let value = one_name(input, &keyword, "role")?;
        set(cx, &mut args.roles, Arg { keyword, value }, Some("roles"));
    } else if lookahead.peek(kw::scopes) {
        let keyword = keyword::<kw::scopes>(input)?;
        let value = name_list(input, &keyword, "scope")?;
        set(cx, &mut args.scopes, Arg { keyword, value }, Some("scope"));
    } else if lookahead.peek(kw::scope) {
        let keyword = keyword::<kw::scope>(input)?;
        let value = one_name(input, &keyword, "scope")?;
        set(cx, &mut args.scopes, Arg { keyword, value }, Some("scopes"));
    } else if lookahead.peek(kw::owner_or_role) {
        let keyword = keyword::<kw::owner_or_role>(input)?;
        let value = one_name(input, &keyword, "role")?;
        set(cx, &mut args.owner_or_role, Arg { keyword, value }, None);
    } else if lookahead.peek(kw::owner) {
        let keyword = keyword::<kw::owner>(input)?;
        let value = owner_path(input, &keyword)?;
        set(cx, &mut args.owner, Arg { keyword, value }, None);
    } else if lookahead.peek(kw::can) {
        let keyword = keyword::<kw::can>(input)?;
        let value = non_empty_string(input, &keyword)?;
        if !value
            .value()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':' | b'.'))
        {
            return Err(syn::Error::new_spanned(
                &value,
                "an action is letters, digits, `_`, `-`, `:` and `.`, as the permission engine's schema names it, e.g. `can = \"edit\"`",
            ));
        }
        set(cx, &mut args.can, Arg { keyword, value }, None);
    } else if lookahead.peek(kw::on) {
        let keyword = keyword::<kw::on>(input)?;
        expect_eq(input, &keyword, "\"post\"")?;
        let lit = string(input, &keyword)?;
        let value = lit.value();
        let (name, collection) = match value.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (value.as_str(), false),
        };
        let Some(binding) = parse_ident(name, lit.span()) else {
            return Err(syn::Error::new_spanned(
                &lit,
                "`on` names a handler parameter holding a loaded resource, e.g. `on = \"post\"`, or a list of them, e.g. `on = \"posts[]\"`",
            ));
        };
        set(
            cx,
            &mut args.on,
            Arg {
                keyword,
                value: OnPath {
                    binding,
                    lit,
                    collection,
                },
            },
            None,
        );
    } else if lookahead.peek(kw::tenant) {
        let keyword = keyword::<kw::tenant>(input)?;
        let value = owner_path(input, &keyword)?;
        set(cx, &mut args.tenant, Arg { keyword, value }, None);
    } else if lookahead.peek(kw::optional_auth) {
        let keyword = keyword::<kw::optional_auth>(input)?;
        if input.peek(Token![=]) {
            let error = input.error("`optional_auth` takes no value: write `optional_auth` alone");
            skip_rest(input)?;
            set(
                cx,
                &mut args.optional_auth,
                Arg { keyword, value: () },
                None,
            );
            return Err(error);
        }
        set(
            cx,
            &mut args.optional_auth,
            Arg { keyword, value: () },
            None,
        );
    } else if lookahead.peek(kw::validate_query) {
        let keyword = keyword::<kw::validate_query>(input)?;
        let value = type_value(input, &keyword)?;
        set(cx, &mut args.validate_query, Arg { keyword, value }, None);
    } else if lookahead.peek(kw::validate) {
        let keyword = keyword::<kw::validate>(input)?;
        let value = type_value(input, &keyword)?;
        set(cx, &mut args.validate, Arg { keyword, value }, None);
    } else if lookahead.peek(kw::rate_key) {
        let keyword = keyword::<kw::rate_key>(input)?;
        let value = rate_key(input, &keyword)?;
        set(cx, &mut args.rate_key, Arg { keyword, value }, None);
    } else if lookahead.peek(kw::rate_mode) {
        let keyword = keyword::<kw::rate_mode>(input)?;
        let value = mode(input, &keyword)?;
        set(cx, &mut args.rate_mode, Arg { keyword, value }, None);
    } else if lookahead.peek(kw::rate) {
        let keyword = keyword::<kw::rate>(input)?;
        let value = rates(input, &keyword)?;
        set(cx, &mut args.rate, Arg { keyword, value }, None);
    } else if lookahead.peek(kw::limit) {
        let keyword = keyword::<kw::limit>(input)?;
        let value = limit(cx, input, &keyword)?;
        args.limits.push(Arg { keyword, value });
    } else if lookahead.peek(kw::timeout) {
        let keyword = keyword::<kw::timeout>(input)?;
        let value = duration(input, &keyword)?;
        set(cx, &mut args.timeout, Arg { keyword, value }, None);
    } else if lookahead.peek(kw::concurrency) {
        let keyword = keyword::<kw::concurrency>(input)?;
        let value = positive_integer(input, &keyword)?;
        set(cx, &mut args.concurrency, Arg { keyword, value }, None);
    } else if lookahead.peek(kw::reason) {
        let keyword = keyword::<kw::reason>(input)?;
        let value = non_empty_string(input, &keyword)?;
        set(cx, &mut args.reason, Arg { keyword, value }, None);
    } else if input.peek(Ident) {
        let unknown: Ident = input.parse()?;
        // Skip the rest of this argument: the error is on the name.
        skip_rest(input)?;
        return Err(syn::Error::new_spanned(
            &unknown,
            unknown_in(&unknown, ARGUMENTS, "the arguments are"),
        ));
    } else {
        return Err(lookahead.error());
    }
    if !input.is_empty() {
        return Err(input.error("expected `,` between arguments"));
    }
    Ok(())
}

fn skip_rest(input: ParseStream) -> syn::Result<()> {
    input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((_, next)) = rest.token_tree() {
            rest = next;
        }
        Ok(((), rest))
    })
}

/// Stores an argument, reporting a second occurrence (or its singular/plural twin) on
/// the second keyword.
fn set<T>(cx: &mut Ctxt, slot: &mut Option<Arg<T>>, arg: Arg<T>, twin: Option<&str>) {
    match slot {
        Some(first) => {
            let message = if first.keyword == arg.keyword {
                format!("`{}` specified more than once", arg.keyword)
            } else {
                format!(
                    "`{}` and `{}` cannot both be given: list every value in `{}`",
                    first.keyword,
                    arg.keyword,
                    plural(&arg.keyword, twin)
                )
            };
            cx.error_spanned_by(&arg.keyword, message);
        }
        None => *slot = Some(arg),
    }
}

fn plural(keyword: &Ident, twin: Option<&str>) -> String {
    let name = keyword.to_string();
    if name.ends_with('s') {
        name
    } else {
        twin.map_or(name, str::to_owned)
    }
}

fn keyword<K: syn::parse::Parse + ToTokens>(input: ParseStream) -> syn::Result<Ident> {
    let k: K = input.parse()?;
    syn::parse2(k.into_token_stream())
}

fn expect_eq(input: ParseStream, keyword: &Ident, example: &str) -> syn::Result<()> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        Ok(())
    } else {
        Err(syn::Error::new_spanned(
            keyword,
            format!("`{keyword}` needs a value, e.g. `{keyword} = {example}`"),
        ))
    }
}

fn non_empty_string(input: ParseStream, keyword: &Ident) -> syn::Result<LitStr> {
    expect_eq(input, keyword, "\"…\"")?;
    let lit = string(input, keyword)?;
    if lit.value().trim().is_empty() {
        return Err(syn::Error::new_spanned(
            &lit,
            format!("`{keyword}` cannot be empty"),
        ));
    }
    Ok(lit)
}

fn string(input: ParseStream, keyword: &Ident) -> syn::Result<LitStr> {
    if input.peek(LitStr) {
        input.parse()
    } else {
        Err(input.error(format!(
            "`{keyword}` takes a string literal, e.g. `{keyword} = \"…\"`"
        )))
    }
}

fn string_list(input: ParseStream, keyword: &Ident) -> syn::Result<Vec<LitStr>> {
    expect_eq(input, keyword, "[\"a\", \"b\"]")?;
    let is_bracket = matches!(input.cursor().group(Delimiter::Bracket), Some((_, _, _)));
    if !is_bracket {
        return Err(input.error(format!(
            "`{keyword}` takes a list of strings, e.g. `{keyword} = [\"a\", \"b\"]`"
        )));
    }
    let content;
    syn::bracketed!(content in input);
    let items: Punctuated<LitStr, Token![,]> =
        Punctuated::parse_terminated(&content).map_err(|e| {
            syn::Error::new(
                e.span(),
                format!(
                    "`{keyword}` takes a list of string literals, e.g. `{keyword} = [\"a\", \"b\"]`"
                ),
            )
        })?;
    if items.is_empty() {
        return Err(syn::Error::new_spanned(
            keyword,
            format!("`{keyword}` needs at least one value"),
        ));
    }
    let mut values = Vec::with_capacity(items.len());
    for lit in items {
        if lit.value().trim().is_empty() {
            return Err(syn::Error::new_spanned(
                &lit,
                format!("a value in `{keyword}` cannot be empty"),
            ));
        }
        values.push(lit);
    }
    Ok(values)
}

/// `role = "admin"` or `role = Role::Admin`: one role (or scope) name.
fn one_name(input: ParseStream, keyword: &Ident, what: &str) -> syn::Result<Names> {
    expect_eq(input, keyword, &example_of(what))?;
    Ok(match name(input, keyword, what)? {
        Name::String(lit) => Names::Strings(vec![lit]),
        Name::Typed(path) => Names::Typed(vec![path]),
    })
}

/// `roles = ["a", "b"]` or `roles = [Role::A, Role::B]`: names written one way.
fn name_list(input: ParseStream, keyword: &Ident, what: &str) -> syn::Result<Names> {
    let example = format!("[{}]", example_of(what));
    expect_eq(input, keyword, &example)?;
    if input.cursor().group(Delimiter::Bracket).is_none() {
        return Err(input.error(format!(
            "`{keyword}` takes a list, e.g. `{keyword} = {example}`"
        )));
    }
    let content;
    syn::bracketed!(content in input);
    let mut strings = Vec::new();
    let mut typed = Vec::new();
    while !content.is_empty() {
        let item = name(&content, keyword, what)?;
        let mixed = match &item {
            Name::String(lit) if !typed.is_empty() => Some(lit.to_token_stream()),
            Name::Typed(path) if !strings.is_empty() => Some(path.to_token_stream()),
            _ => None,
        };
        if let Some(tokens) = mixed {
            return Err(syn::Error::new_spanned(
                tokens,
                format!(
                    "`{keyword}` names every {what} one way: all strings (declared in the settings) or all variants of one type (checked by rustc), not both"
                ),
            ));
        }
        match item {
            Name::String(lit) => strings.push(lit),
            Name::Typed(path) => typed.push(path),
        }
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    if strings.is_empty() && typed.is_empty() {
        return Err(syn::Error::new_spanned(
            keyword,
            format!("`{keyword}` needs at least one value, e.g. `{keyword} = {example}`"),
        ));
    }
    Ok(if typed.is_empty() {
        Names::Strings(strings)
    } else {
        Names::Typed(typed)
    })
}

enum Name {
    String(LitStr),
    Typed(Path),
}

/// `"admin"` or `Role::Admin`.
fn name(input: ParseStream, keyword: &Ident, what: &str) -> syn::Result<Name> {
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        if lit.value().trim().is_empty() {
            return Err(syn::Error::new_spanned(
                &lit,
                format!("a {what} named in `{keyword}` cannot be empty"),
            ));
        }
        return Ok(Name::String(lit));
    }
    let example = example_of(what);
    let path: Path = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("`{keyword}` takes a {what}: a string or a variant of a type deriving `secure_endpoint::{}`, e.g. `{keyword} = {example}`", type_of(what)),
        )
    })?;
    if path.segments.len() < 2 {
        let written = path.to_token_stream().to_string();
        return Err(syn::Error::new_spanned(
            &path,
            format!(
                "a typed {what} is written with its type, e.g. `{}::{}`; a {what} named by a string is quoted, e.g. `\"{}\"`",
                type_of(what),
                capitalized(&written),
                written,
            ),
        ));
    }
    Ok(Name::Typed(path))
}

/// `admin` → `Admin`: the variant a typed name would likely be.
fn capitalized(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn type_of(what: &str) -> &'static str {
    if what == "scope" { "Scope" } else { "Role" }
}

fn example_of(what: &str) -> String {
    if what == "scope" {
        "\"posts:write\"".to_owned()
    } else {
        "\"admin\"".to_owned()
    }
}

fn type_value(input: ParseStream, keyword: &Ident) -> syn::Result<Type> {
    expect_eq(input, keyword, "MyInput")?;
    input.parse::<Type>().map_err(|_| {
        syn::Error::new(
            input.span(),
            format!("`{keyword}` takes a type, e.g. `{keyword} = CreatePost`"),
        )
    })
}

fn owner_path(input: ParseStream, keyword: &Ident) -> syn::Result<OwnerPath> {
    let example = if keyword == "tenant" {
        "\"post.org_id\""
    } else {
        "\"post.user_id\""
    };
    expect_eq(input, keyword, example)?;
    let lit = string(input, keyword)?;
    let malformed = || {
        let holds = if keyword == "tenant" {
            "the tenant's id"
        } else {
            "the owner's id"
        };
        syn::Error::new_spanned(
            &lit,
            format!(
                "`{keyword}` takes \"parameter.field\" (or \"list[].field\" for a collection), naming a handler parameter and its field that holds {holds}, e.g. `{keyword} = {example}`"
            ),
        )
    };
    dotted_path(&lit, true).ok_or_else(malformed)
}

fn parse_ident(s: &str, span: Span) -> Option<Ident> {
    let ident: Ident = syn::parse_str(s).ok()?;
    Some(Ident::new(&ident.to_string(), span))
}

/// `timeout = "5s"`, in milliseconds, by the grammar the runtime uses too.
fn duration(input: ParseStream, keyword: &Ident) -> syn::Result<u64> {
    expect_eq(input, keyword, "\"5s\"")?;
    let lit = string(input, keyword)?;
    secure_endpoint_grammar::parse_duration(&lit.value())
        .map_err(|why| syn::Error::new_spanned(&lit, format!("invalid duration: {why}")))
}

fn positive_integer(input: ParseStream, keyword: &Ident) -> syn::Result<u32> {
    expect_eq(input, keyword, "8")?;
    if !input.peek(syn::LitInt) {
        let what: TokenTree = input.parse()?;
        skip_rest(input)?;
        return Err(syn::Error::new_spanned(
            what,
            format!("`{keyword}` takes a whole number, e.g. `{keyword} = 8`"),
        ));
    }
    let lit: syn::LitInt = input.parse()?;
    match lit.base10_parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(syn::Error::new_spanned(
            &lit,
            format!("`{keyword}` must be a whole number from 1 to 4294967295"),
        )),
    }
}

fn rate_key(input: ParseStream, keyword: &Ident) -> syn::Result<RateKey> {
    expect_eq(input, keyword, "\"ip\"")?;
    let lit = string(input, keyword)?;
    match lit.value().as_str() {
        "ip" => Ok(RateKey::Ip),
        "user" => Ok(RateKey::User),
        other => Err(syn::Error::new_spanned(
            &lit,
            format!("unknown rate key \"{other}\": use \"ip\" or \"user\""),
        )),
    }
}

fn rate(input: ParseStream, keyword: &Ident) -> syn::Result<Rate> {
    expect_eq(input, keyword, "\"10/10s\"")?;
    let lit = string(input, keyword)?;
    rate_literal(&lit)
}

/// `"10/10s"`, by the one `COUNT/PERIOD` grammar, which the runtime's `Rate::parse` uses
/// too: here its errors become diagnostics on the string.
fn rate_literal(lit: &LitStr) -> syn::Result<Rate> {
    let (count, period_ms) = secure_endpoint_grammar::parse_rate(&lit.value())
        .map_err(|why| syn::Error::new_spanned(lit, format!("invalid rate: {why}")))?;
    Ok(Rate { count, period_ms })
}

/// `rate = "10/10s"` or `rate = ["10/s", "1000/d"]`.
fn rates(input: ParseStream, keyword: &Ident) -> syn::Result<Vec<Rate>> {
    if input.peek(Token![=]) && input.peek2(syn::token::Bracket) {
        let lits = string_list(input, keyword)?;
        let mut rates = Vec::with_capacity(lits.len());
        let mut errors: Option<syn::Error> = None;
        for lit in &lits {
            match rate_literal(lit) {
                Ok(rate) => rates.push(rate),
                Err(error) => match &mut errors {
                    Some(errors) => errors.combine(error),
                    None => errors = Some(error),
                },
            }
        }
        return match errors {
            Some(errors) => Err(errors),
            None => Ok(rates),
        };
    }
    Ok(vec![rate(input, keyword)?])
}

/// `limit(rate = "5/15m", key = "input.username", on = "failure", group = "logins")`.
/// Whether it has its `rate` is `check`'s question.
fn limit(cx: &mut Ctxt, input: ParseStream, limit_keyword: &Ident) -> syn::Result<LimitArgs> {
    if !input.peek(syn::token::Paren) {
        let error = syn::Error::new_spanned(
            limit_keyword,
            format!(
                "`limit` takes its arguments in parentheses, e.g. {}",
                LimitArgs::EXAMPLE
            ),
        );
        skip_rest(input)?;
        return Err(error);
    }
    let content;
    syn::parenthesized!(content in input);
    let mut limit = LimitArgs {
        rate: None,
        key: None,
        failure: false,
        group: None,
        except_device: None,
        report: false,
    };
    let mut seen: Vec<Ident> = Vec::new();
    for chunk in split_top_level_commas(content.parse()?) {
        let parser = |input: ParseStream| -> syn::Result<()> {
            if input.peek(kw::rate) {
                let name = once_in_limit(&mut seen, keyword::<kw::rate>(input)?, input)?;
                limit.rate = Some(rate(input, &name)?);
            } else if input.peek(kw::key) {
                let name = once_in_limit(&mut seen, keyword::<kw::key>(input)?, input)?;
                expect_eq(input, &name, "\"ip\"")?;
                let lit = string(input, &name)?;
                limit.key = Some((limit_key(&lit)?, lit));
            } else if input.peek(kw::on) {
                let name = once_in_limit(&mut seen, keyword::<kw::on>(input)?, input)?;
                expect_eq(input, &name, "\"failure\"")?;
                let lit = string(input, &name)?;
                limit.failure = match lit.value().as_str() {
                    "any" => false,
                    "failure" => true,
                    other => {
                        return Err(syn::Error::new_spanned(
                            &lit,
                            format!(
                                "unknown `on` \"{other}\": use \"any\" (every request, the default) or \"failure\" (only requests the handler answers 401 or 403)"
                            ),
                        ));
                    }
                };
            } else if input.peek(kw::group) {
                let name = once_in_limit(&mut seen, keyword::<kw::group>(input)?, input)?;
                expect_eq(input, &name, "\"writes\"")?;
                let lit = string(input, &name)?;
                let value = lit.value();
                let valid = (1..=64).contains(&value.len())
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
                if !valid {
                    return Err(syn::Error::new_spanned(
                        &lit,
                        "a group's name is 1 to 64 letters, digits, `_`, `-` and `.`, e.g. `group = \"writes\"`",
                    ));
                }
                limit.group = Some(lit);
            } else if input.peek(kw::except) {
                let name = once_in_limit(&mut seen, keyword::<kw::except>(input)?, input)?;
                expect_eq(input, &name, "\"device\"")?;
                let lit = string(input, &name)?;
                if lit.value() != "device" {
                    return Err(syn::Error::new_spanned(
                        &lit,
                        format!(
                            "unknown `except` \"{}\": use \"device\" (attempts from a device that logged in as the name are counted on that device's own budget)",
                            lit.value()
                        ),
                    ));
                }
                limit.except_device = Some(lit);
            } else if input.peek(kw::mode) {
                let name = once_in_limit(&mut seen, keyword::<kw::mode>(input)?, input)?;
                limit.report = mode(input, &name)?;
            } else if input.peek(Ident) {
                let name = once_in_limit(&mut seen, input.parse()?, input)?;
                skip_rest(input)?;
                return Err(syn::Error::new_spanned(
                    &name,
                    unknown_in(&name, LIMIT_ARGUMENTS, "the arguments of `limit` are"),
                ));
            } else {
                return Err(syn::Error::new(
                    input.span(),
                    format!(
                        "expected an argument of `limit`, e.g. {}",
                        LimitArgs::EXAMPLE
                    ),
                ));
            }
            if !input.is_empty() {
                return Err(input.error("expected `,` between the arguments of `limit`"));
            }
            Ok(())
        };
        if let Err(error) = parser.parse2(chunk) {
            cx.push(error);
        }
    }
    Ok(limit)
}

/// `mode = "report"` or `"enforce"`: whether the limit only reports.
fn mode(input: ParseStream, keyword: &Ident) -> syn::Result<bool> {
    expect_eq(input, keyword, "\"report\"")?;
    let lit = string(input, keyword)?;
    match lit.value().as_str() {
        "enforce" => Ok(false),
        "report" => Ok(true),
        other => Err(syn::Error::new_spanned(
            &lit,
            format!(
                "unknown `{keyword}` \"{other}\": use \"enforce\" (the default: over the limit is 429) or \"report\" (counted as usual, never refused: a request over it passes, logged and counted as `would_refuse`)"
            ),
        )),
    }
}

/// Records an argument of one `limit(...)`; a second one of the same name is an error on
/// it, and the rest of that argument is skipped.
fn once_in_limit(seen: &mut Vec<Ident>, name: Ident, input: ParseStream) -> syn::Result<Ident> {
    if seen.contains(&name) {
        skip_rest(input)?;
        return Err(syn::Error::new_spanned(
            &name,
            format!("`{name}` specified more than once in this `limit(...)`"),
        ));
    }
    seen.push(name.clone());
    Ok(name)
}

/// `key = "ip"`, `"user"`, or `"parameter.field"` naming a string field of the validated
/// body.
fn limit_key(lit: &LitStr) -> syn::Result<RateKey> {
    let value = lit.value();
    match value.as_str() {
        "ip" => return Ok(RateKey::Ip),
        "user" => return Ok(RateKey::User),
        _ => {}
    }
    let malformed = || {
        syn::Error::new_spanned(
            lit,
            format!(
                "unknown key \"{value}\": use \"ip\", \"user\", or \"parameter.field\" naming a string field of the validated body, e.g. `key = \"input.username\"`"
            ),
        )
    };
    dotted_path(lit, false)
        .map(RateKey::Input)
        .ok_or_else(malformed)
}

/// `"binding.field.field"` (or, where `list` allows it, `"binding[].field"`), each part
/// an identifier spanned on the string; `None` when it is not of that form.
fn dotted_path(lit: &LitStr, list: bool) -> Option<OwnerPath> {
    let value = lit.value();
    let mut segments = value.split('.');
    let first = segments.next().unwrap_or_default();
    let (first, collection) = match first.strip_suffix("[]") {
        Some(binding) if list => (binding, true),
        _ => (first, false),
    };
    let binding = parse_ident(first, lit.span())?;
    let fields: Vec<Ident> = segments
        .map(|s| parse_ident(s, lit.span()))
        .collect::<Option<_>>()?;
    if fields.is_empty() {
        return None;
    }
    Some(OwnerPath {
        binding,
        fields,
        lit: lit.clone(),
        collection,
    })
}
