//! Following a listing's pages. Vercel's lists answer `{<items>: [...], pagination: {next}}`,
//! where `next` is a timestamp or an opaque token, and the request for the following page names
//! it `from` or `until` depending on the endpoint and its age. Which one works is learnt, not
//! assumed: a page that brings nothing new means the cursor had no effect.

use std::collections::HashSet;

use serde_json::Value;

use super::{Installation, VercelError};

/// More pages than any real account has: a cursor that never ends must not loop forever.
const MAX_PAGES: usize = 200;

/// One way to ask for the next page: the endpoint, and the parameter that carries `next`.
#[derive(Clone, Copy)]
pub(super) struct Paging<'a> {
    pub segments: &'a [&'a str],
    pub cursor: &'static str,
    /// How errors and logs name the endpoint.
    pub name: &'static str,
}

fn cursor_text(next: Option<&Value>) -> Option<String> {
    match next? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// The items of one answer: under `field`, or the answer itself when it is an array; `{}`
/// (Vercel's answer for "none") has none.
fn items_of(raw: &mut Value, field: &str) -> Vec<Value> {
    match raw {
        Value::Array(items) => std::mem::take(items),
        Value::Object(object) => match object.remove(field) {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// What tells two items apart: their `id`, or the whole item when it has none.
fn identity(item: &Value) -> String {
    item["id"].as_str().map_or_else(|| item.to_string(), str::to_owned)
}

impl Installation {
    /// Every item of a listing, following `next` with `first`'s cursor parameter. A page whose
    /// items were all seen already means the cursor had no effect: Tether switches to `second`
    /// once, and gives up with an error naming the endpoint if that repeats too, so a server
    /// that ignores the cursor costs two wasted requests, not two hundred.
    pub(super) async fn all_pages(
        &self,
        first: Paging<'_>,
        second: Paging<'_>,
        field: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<Value>, VercelError> {
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        let mut style = first;
        let mut cursor: Option<String> = None;
        let mut wasted = 0;
        for _ in 0..MAX_PAGES {
            let mut params = query.to_vec();
            if let Some(cursor) = &cursor {
                params.push((style.cursor, cursor.clone()));
            }
            let mut raw: Value = self.get(style.segments, &params).await?;
            let next = cursor_text(raw.pointer("/pagination/next"));
            let page = items_of(&mut raw, field);
            let size = page.len();
            let before = items.len();
            items.extend(page.into_iter().filter(|item| seen.insert(identity(item))));
            if cursor.is_some() && size > 0 && items.len() == before {
                wasted += 1;
                tracing::warn!(endpoint = style.name, wasted, "a page repeated: the cursor had no effect");
                if wasted >= 2 {
                    return Err(VercelError::Pagination { endpoint: style.name });
                }
                // The second waste ends the walk above, so a switch is only ever to `second`.
                style = second;
                continue;
            }
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(items),
            }
        }
        Err(VercelError::Pagination { endpoint: style.name })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_from_every_documented_shape() {
        let mut listed = serde_json::json!({"envs": [{"id": "a"}], "pagination": {"next": 5}});
        assert_eq!(items_of(&mut listed, "envs").len(), 1);
        assert_eq!(cursor_text(listed.pointer("/pagination/next")).as_deref(), Some("5"));
        assert!(items_of(&mut serde_json::json!({}), "envs").is_empty());
        assert_eq!(items_of(&mut serde_json::json!([{"id": "a"}, {"id": "b"}]), "envs").len(), 2);
        assert_eq!(cursor_text(Some(&serde_json::json!("tok"))).as_deref(), Some("tok"));
        assert_eq!(cursor_text(Some(&serde_json::json!(""))), None);
        assert_eq!(cursor_text(Some(&Value::Null)), None);
    }
}
