//! The install page assembled from the page Leptos rendered around [`ROWS_SLOT`] and the rows
//! rendered apart. A browser that takes brotli gets the page compressed in three parts joined:
//! only the part before the rows and the part after them are compressed on this load.

use app::pages::ROWS_SLOT;

use super::{
    compress::{compress_first, compress_part, join},
    rows::Compressed,
    HtmlError,
};

/// A page's bytes, and whether they are brotli-compressed.
pub struct Body {
    pub bytes: Vec<u8>,
    pub brotli: bool,
}

/// `page` with the rows in its slot: compressed when the browser takes brotli (`brotli`), else
/// as it is. Compressing is best effort: a page that cannot be compressed goes out plain.
pub fn with_rows(page: &str, rows: &Compressed, brotli: bool) -> Result<Body, HtmlError> {
    let (before, after) = page.split_once(ROWS_SLOT).ok_or(HtmlError::NoSlot)?;
    if brotli {
        match joined(before, rows, after) {
            Ok(bytes) => return Ok(Body { bytes, brotli: true }),
            Err(error) => tracing::error!(%error, "the install page could not be compressed; sending it as is"),
        }
    }
    let mut html = Vec::with_capacity(rows.html_len);
    brotli::BrotliDecompress(&mut rows.brotli.as_ref(), &mut html)?;
    Ok(Body { bytes: [before.as_bytes(), &html, after.as_bytes()].concat(), brotli: false })
}

/// The part before the rows and the part after them compressed, joined around the rows.
fn joined(before: &str, rows: &Compressed, after: &str) -> Result<Vec<u8>, HtmlError> {
    let head = compress_first(before.as_bytes(), before.len() + rows.html_len + after.len())?;
    let tail = compress_part(after.as_bytes())?;
    Ok(join(&[&head, &rows.brotli, &tail])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::compress::decompress;

    #[test]
    fn the_rows_land_in_their_slot_compressed_or_not() {
        let rows_html = "<li>one</li><li>two</li>";
        let rows =
            Compressed { brotli: compress_part(rows_html.as_bytes()).unwrap().into(), html_len: rows_html.len() };
        let page = format!("<ul>{ROWS_SLOT}</ul>");
        let plain = with_rows(&page, &rows, false).unwrap();
        assert!(!plain.brotli);
        assert_eq!(plain.bytes, b"<ul><li>one</li><li>two</li></ul>");
        let compressed = with_rows(&page, &rows, true).unwrap();
        assert!(compressed.brotli);
        assert_eq!(decompress(&compressed.bytes), plain.bytes);
        assert!(matches!(with_rows("<ul></ul>", &rows, true), Err(HtmlError::NoSlot)));
    }
}
