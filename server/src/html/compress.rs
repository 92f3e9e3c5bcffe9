//! Brotli for pages, and for pages assembled from parts compressed apart: the install page's
//! rows are compressed once and kept, and each load compresses only the few kilobytes around
//! them, then joins the three streams without decompressing anything.

use brotli::{
    concat::{BroCatli, BroCatliResult},
    enc::BrotliEncoderParams,
};

/// The largest window any part uses (1 MB): it holds any page Tether renders (250 projects
/// make about 100 KB, 1,000 about 450 KB), and a joined stream may not use a larger one.
const MAX_LGWIN: i32 = 20;

/// Brotli at quality 4: quality 11 would save 10% of the bytes at many times the CPU. The
/// window is as large as the input needs, up to 1 MB: under 50 concurrent loads of the
/// 250-project page, 4 MB windows were most of what the server held (45 MiB resident after
/// the load test, 32 MiB with 1 MB).
fn params(len: usize) -> BrotliEncoderParams {
    // 2^lgwin - 16 bytes are reachable: the smallest window that holds the whole input, but
    // never below 2^16 (smaller windows were not measured; the parts here are a few KB).
    let needed = (usize::BITS - (len + 16).leading_zeros()) as i32;
    BrotliEncoderParams { quality: 4, lgwin: needed.clamp(16, MAX_LGWIN), size_hint: len, ..Default::default() }
}

/// One brotli stream of `bytes`.
pub fn compress(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    encode(bytes, params(bytes.len()))
}

/// The first of the streams [`join`] joins: others may follow it, and its window becomes the
/// joined stream's, so it is sized for the whole page (`page_len` bytes once joined), not for
/// this part. Not the largest window either: the encoder allocates and clears the window for
/// every load, which was 3% of the server's CPU under load with 1 MB for a 90 KB page.
pub fn compress_first(bytes: &[u8], page_len: usize) -> std::io::Result<Vec<u8>> {
    let lgwin = params(page_len.max(bytes.len())).lgwin;
    encode(bytes, BrotliEncoderParams { appendable: true, lgwin, ..params(bytes.len()) })
}

/// A stream [`join`] can put after others: it refers to nothing before itself (not even to
/// brotli's dictionary, whose distances count from the stream's start), so it costs a few
/// percent more than a stream of its own.
pub fn compress_part(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    encode(bytes, BrotliEncoderParams { catable: true, ..params(bytes.len()) })
}

fn encode(mut bytes: &[u8], params: BrotliEncoderParams) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() / 8 + 64);
    brotli::BrotliCompress(&mut bytes, &mut out, &params)?;
    Ok(out)
}

/// Joins a stream from [`compress_first`] and streams from [`compress_part`] into one stream
/// of their contents in order.
pub fn join(parts: &[&[u8]]) -> Result<Vec<u8>, JoinError> {
    // Splicing rewrites a few bits where streams meet, and may add a byte or two there.
    let mut out = vec![0; parts.iter().map(|p| p.len() + 8).sum::<usize>() + 8];
    let mut written = 0;
    let mut catli = BroCatli::new();
    for part in parts {
        catli.new_brotli_file();
        let mut read = 0;
        match catli.stream(part, &mut read, &mut out, &mut written) {
            BroCatliResult::NeedsMoreInput if read == part.len() => {}
            result => return Err(JoinError(result)),
        }
    }
    match catli.finish(&mut out, &mut written) {
        BroCatliResult::Success => {
            out.truncate(written);
            Ok(out)
        }
        result => Err(JoinError(result)),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("brotli streams could not be joined: {0:?}")]
pub struct JoinError(BroCatliResult);

/// A brotli stream's content, for tests.
#[cfg(test)]
pub(crate) fn decompress(stream: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::BrotliDecompress(&mut &stream[..], &mut out).expect("a valid brotli stream");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_parts_decompress_to_the_parts_in_order() {
        let head = "<!DOCTYPE html><html><head><title>Connect</title></head><body><ul>".repeat(3);
        let rows: String = (0..300)
            .map(|n| {
                format!("<li class=\"project\"><span>app-{n}</span><select name=\"choices[prj_{n}]\"></select></li>")
            })
            .collect();
        let tail = "</ul><p class=\"cancel\"><a href=\"https://vercel.com/\">Cancel</a></p></body></html>";
        let parts = [
            compress_first(head.as_bytes(), head.len() + rows.len() + tail.len()),
            compress_part(rows.as_bytes()),
            compress_part(tail.as_bytes()),
        ]
        .map(Result::unwrap);
        let joined = join(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>()).unwrap();
        assert_eq!(decompress(&joined), format!("{head}{rows}{tail}").into_bytes());
        // Joining costs nothing measurable over compressing the page whole.
        let whole = compress(format!("{head}{rows}{tail}").as_bytes()).unwrap();
        assert!(joined.len() <= whole.len() + 64, "joined {} B, whole {} B", joined.len(), whole.len());
    }

    #[test]
    fn an_empty_part_joins_as_nothing() {
        let parts = [compress_first(b"before", 11), compress_part(b""), compress_part(b"after")].map(Result::unwrap);
        let joined = join(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>()).unwrap();
        assert_eq!(decompress(&joined), b"beforeafter");
    }
}
