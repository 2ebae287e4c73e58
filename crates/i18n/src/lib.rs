//! Every text a person reads, in Japanese and English.
//!
//! The texts live in Fluent resource files (`locales/<tag>/ovice-slack.ftl`), compiled into the
//! binary; code names a text by [`Text`] and never holds the words. A test fails when a text exists
//! in one language only or when the two languages disagree on the values a text takes.

mod language;
mod text;

pub use language::Language;
pub use text::{Arg, Text};
