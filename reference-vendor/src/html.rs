//! The vendor's demo pages (its sign-in page, single sign-on's landing) escape what they show
//! with this one function.

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
