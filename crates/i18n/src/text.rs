//! The texts by name, and their rendering in one language.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

use crate::Language;

const ENGLISH: &str = include_str!("../locales/en/ovice-slack.ftl");
const JAPANESE: &str = include_str!("../locales/ja/ovice-slack.ftl");

/// Every text a person reads; its Fluent id is the kebab-case name (`FrameOpen` → `frame-open`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::EnumIter, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
pub enum Text {
    // The Slack message (docs/product.md §2.3).
    /// Who and where, above the text: `$who`, `$space`.
    FrameContext,
    /// A visitor's name: `$name`.
    FrameVisitor,
    /// Stands in for an empty display name.
    FrameSomeone,
    /// The notification text: `$who`, `$space`, `$text`.
    FrameFallback,
    /// The button and link back to ovice.
    FrameOpen,
    /// Stands in for an empty message.
    FrameEmpty,
    /// After a cut text.
    FrameShortened,
    /// Heads a digest: `$count`.
    DigestTitle,
    // The pages Connect ends on (the OAuth callback). The value is the title; the attributes
    // `.message` (what happened) and `.hint` (what to do next).
    ConnectConnected,
    ConnectSlackUnavailable,
    ConnectFailed,
    ConnectMissingState,
    ConnectUnknownState,
    ConnectStateUsed,
    ConnectStateExpired,
    ConnectCancelled,
    ConnectSlackError,
    ConnectWrongWorkspace,
    ConnectNoSlackAccount,
    ConnectEmailMismatch,
    ConnectSlackAccountTaken,
    ConnectNoUserGrant,
    ConnectWorkspaceGone,
    // Errors a person may see, as a `google.rpc.LocalizedMessage` beside the English status message.
    ErrorDenied,
    ErrorNotConfigured,
    ErrorWorkspaceTokenInvalid,
    ErrorConnectNotConfigured,
    ErrorNoEmail,
    ErrorEmailNotVerified,
    /// `$seconds` until a new start is allowed.
    ErrorTooManyConnects,
    ErrorUnavailable,
    ErrorInternal,
    /// `$fields`: the settings that were wrong, each named by a `Field…` text.
    ErrorInvalidSettings,
    // The settings a person can get wrong, as `ErrorInvalidSettings` names them.
    FieldHoldUnread,
    FieldPausedUntil,
    FieldQuietHoursStart,
    FieldQuietHoursEnd,
    FieldQuietHoursTimeZone,
    FieldLanguage,
    /// Between the items of a list.
    ListSeparator,
    // Why the Slack item asks the person to connect again.
    ReconnectAccessEnded,
    ReconnectAppUninstalled,
    ReconnectEmailChanged,
    // What an organization owner reads when the Slack settings are refused.
    OwnerDomainInvalid,
    OwnerTokenMissing,
    OwnerTokenNotBot,
    /// `$code`, `$advice` (an `Advice…` text).
    OwnerTokenRejected,
    /// `$expected`, `$actual`: workspace hosts.
    OwnerTokenWrongWorkspace,
    /// `$scopes`.
    OwnerTokenMissingScopes,
    OwnerRefreshTokenMissing,
    OwnerRefreshTokenMalformed,
    OwnerClientCredentialMissing,
    OwnerNotRotating,
    /// `$code`, `$advice` (an `Advice…` text).
    OwnerRenewalRejected,
    OwnerSigningSecretIsToken,
    OwnerSigningSecretMalformed,
    OwnerNotConfigured,
    OwnerSlackUnavailable,
    OwnerDenied,
    OwnerInternal,
    /// `$fields`: the request's fields that were wrong.
    OwnerInvalidRequest,
    // What to do about Slack's refusal of a bot token or of its renewal.
    AdviceCopyAgain,
    AdviceReinstall,
    AdviceBotDeactivated,
    AdviceUseBotToken,
    AdviceRefreshTokenSpent,
    AdviceClientCredentials,
    AdviceCheckToken,
}

impl Text {
    /// The Fluent id.
    pub fn id(self) -> &'static str {
        self.into()
    }

    /// This text in `language`, with its values. Values are inserted as given: escaping for Slack
    /// or HTML is the caller's, before or after.
    pub fn render(self, language: Language, args: &[(&str, Arg<'_>)]) -> String {
        self.format(language, None, args)
    }

    /// One attribute of this text (`.message`, `.hint`).
    pub fn attribute(self, language: Language, attribute: &str, args: &[(&str, Arg<'_>)]) -> String {
        self.format(language, Some(attribute), args)
    }

    fn format(self, language: Language, attribute: Option<&str>, args: &[(&str, Arg<'_>)]) -> String {
        let bundle = bundle(language);
        let message = bundle.get_message(self.id());
        let pattern = match attribute {
            None => message.and_then(|m| m.value()),
            Some(a) => message.and_then(|m| m.get_attribute(a)).map(|a| a.value()),
        };
        let Some(pattern) = pattern else {
            // The parity test makes this unreachable; the id is better than nothing.
            return self.id().to_owned();
        };
        let mut fluent_args = FluentArgs::with_capacity(args.len());
        for (name, value) in args {
            match *value {
                Arg::Str(s) => fluent_args.set(*name, FluentValue::from(s)),
                Arg::Count(n) => fluent_args.set(*name, FluentValue::from(n)),
            }
        }
        let mut errors = Vec::new();
        let out = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
        debug_assert!(errors.is_empty(), "{}: {errors:?}", self.id());
        out.into_owned()
    }

    /// A text without values.
    pub fn plain(self, language: Language) -> String {
        self.render(language, &[])
    }
}

/// A value for a text.
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a> {
    Str(&'a str),
    /// A number that chooses a plural form.
    Count(u64),
}

type Bundle = FluentBundle<FluentResource>;

static BUNDLES: LazyLock<[Bundle; 2]> = LazyLock::new(|| {
    [
        load(Language::English, ENGLISH),
        load(Language::Japanese, JAPANESE),
    ]
});

fn bundle(language: Language) -> &'static Bundle {
    match language {
        Language::English => &BUNDLES[0],
        Language::Japanese => &BUNDLES[1],
    }
}

fn load(language: Language, source: &'static str) -> Bundle {
    // Compiled-in files that the tests parse: a syntax error is a build defect, not input.
    let resource = FluentResource::try_new(source.to_owned())
        .unwrap_or_else(|(_, errors)| panic!("{language}: {errors:?}"));
    let id: LanguageIdentifier = language.tag().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around values: Slack and HTML get exactly the text.
    bundle.set_use_isolating(false);
    if let Err(errors) = bundle.add_resource(resource) {
        panic!("{language}: {errors:?}");
    }
    bundle
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use fluent_syntax::ast;
    use strum::IntoEnumIterator;

    use super::*;

    /// Each message id (and `id.attribute`) of a file with the variables it uses.
    fn messages(source: &str) -> BTreeMap<String, BTreeSet<String>> {
        let resource = fluent_syntax::parser::parse(source).unwrap_or_else(|(_, e)| panic!("{e:?}"));
        let mut out = BTreeMap::new();
        for entry in resource.body {
            match entry {
                ast::Entry::Message(m) => {
                    let mut vars = BTreeSet::new();
                    if let Some(p) = &m.value {
                        pattern_vars(p, &mut vars);
                    }
                    assert!(
                        out.insert(m.id.name.to_owned(), vars).is_none(),
                        "{} twice",
                        m.id.name
                    );
                    for a in &m.attributes {
                        let mut vars = BTreeSet::new();
                        pattern_vars(&a.value, &mut vars);
                        let id = format!("{}.{}", m.id.name, a.id.name);
                        assert!(out.insert(id.clone(), vars).is_none(), "{id} twice");
                    }
                }
                ast::Entry::Term(t) => panic!("-{}: terms are not used", t.id.name),
                ast::Entry::Junk { content } => panic!("unparsed: {content}"),
                _ => {}
            }
        }
        out
    }

    fn pattern_vars(p: &ast::Pattern<&str>, vars: &mut BTreeSet<String>) {
        for element in &p.elements {
            if let ast::PatternElement::Placeable { expression } = element {
                expression_vars(expression, vars);
            }
        }
    }

    fn expression_vars(e: &ast::Expression<&str>, vars: &mut BTreeSet<String>) {
        match e {
            ast::Expression::Select { selector, variants } => {
                inline_vars(selector, vars);
                for v in variants {
                    pattern_vars(&v.value, vars);
                }
            }
            ast::Expression::Inline(i) => inline_vars(i, vars),
        }
    }

    fn inline_vars(i: &ast::InlineExpression<&str>, vars: &mut BTreeSet<String>) {
        match i {
            ast::InlineExpression::VariableReference { id } => {
                vars.insert(id.name.to_owned());
            }
            ast::InlineExpression::Placeable { expression } => expression_vars(expression, vars),
            ast::InlineExpression::FunctionReference { arguments, .. } => {
                for a in &arguments.positional {
                    inline_vars(a, vars);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn every_text_exists_in_every_language_with_the_same_values() {
        let english = messages(ENGLISH);
        let japanese = messages(JAPANESE);
        let in_code: BTreeSet<String> = Text::iter().map(|t| t.id().to_owned()).collect();
        // Attributes belong to a text in code; each language has the same ones (checked below).
        let only = |a: &BTreeMap<String, BTreeSet<String>>, b: &BTreeSet<String>| {
            a.keys()
                .filter(|k| !b.contains(k.split('.').next().unwrap_or_default()))
                .cloned()
                .collect::<Vec<_>>()
        };
        let ids = |m: &BTreeMap<String, BTreeSet<String>>| m.keys().cloned().collect::<BTreeSet<_>>();
        assert_eq!(
            ids(&english)
                .symmetric_difference(&ids(&japanese))
                .collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "texts or attributes in one language only"
        );
        for (id, vars) in &english {
            assert_eq!(
                Some(vars),
                japanese.get(id),
                "{id}: the languages take different values"
            );
        }
        // Every Connect page has what the page shows.
        for t in Text::iter().filter(|t| t.id().starts_with("connect-")) {
            for part in ["message", "hint"] {
                assert!(
                    english.contains_key(&format!("{}.{part}", t.id())),
                    "{} lacks .{part}",
                    t.id()
                );
            }
        }
        assert_eq!(
            only(&english, &in_code),
            Vec::<String>::new(),
            "in en, not in code"
        );
        assert_eq!(
            only(&japanese, &in_code),
            Vec::<String>::new(),
            "in ja, not in code"
        );
        for id in &in_code {
            let (Some(en), Some(ja)) = (english.get(id), japanese.get(id)) else {
                panic!(
                    "{id}: en {}, ja {}",
                    english.contains_key(id),
                    japanese.contains_key(id)
                );
            };
            assert_eq!(en, ja, "{id}: the languages take different values");
        }
    }

    #[test]
    fn a_text_missing_in_one_language_is_caught() {
        // The check above, on a file that lacks a text the other has.
        let en = messages("a = A\nb = B { $x }\n");
        let ja = messages("a = エー\n");
        assert!(en.keys().any(|k| !ja.contains_key(k)));
        let ja = messages("a = エー\nb = ビー\n");
        assert_ne!(en.get("b"), ja.get("b"), "a value dropped is caught too");
    }

    #[test]
    fn texts_render_with_their_values_and_plural_forms() {
        let open = Text::FrameOpen;
        assert_eq!(open.plain(Language::English), "Open in ovice");
        assert_eq!(open.plain(Language::Japanese), "ovice で開く");
        let title = |l, n| Text::DigestTitle.render(l, &[("count", Arg::Count(n))]);
        assert_eq!(
            title(Language::English, 1),
            "1 message arrived during your quiet hours"
        );
        assert_eq!(
            title(Language::English, 5),
            "5 messages arrived during your quiet hours"
        );
        assert_eq!(
            title(Language::Japanese, 5),
            "おやすみ時間中に 5 件のメッセージが届きました"
        );
        // No isolation marks around values.
        let who = Text::FrameVisitor.render(Language::English, &[("name", Arg::Str("Bo"))]);
        assert_eq!(who, "Bo (visitor)");
    }
}
