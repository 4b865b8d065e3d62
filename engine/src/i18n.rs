//! Languages and translated text.
//!
//! The UI and the template packs speak English and Simplified Chinese; everything a user reads
//! (labels, help, error messages) exists in both.

use serde::{Deserialize, Serialize};

/// A language the product speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-CN")]
    ZhCn,
}

impl Lang {
    /// Reads a BCP 47 tag leniently: every Chinese tag (`zh`, `zh-CN`, `zh-Hans`, `zh_cn`)
    /// means Simplified Chinese, anything else English.
    pub fn from_tag(tag: &str) -> Lang {
        let tag = tag.trim().to_ascii_lowercase();
        if tag == "zh" || tag.starts_with("zh-") || tag.starts_with("zh_") { Lang::ZhCn } else { Lang::En }
    }

    /// Picks the language from an `Accept-Language` header: the first listed tag that we
    /// speak, in the order the client gave (quality values are rarely out of order in practice,
    /// and the first tag is what browsers put first).
    pub fn from_accept_language(header: &str) -> Lang {
        header
            .split(',')
            .filter_map(|part| part.split(';').next())
            .map(str::trim)
            .find(|tag| !tag.is_empty() && *tag != "*")
            .map(Lang::from_tag)
            .unwrap_or_default()
    }

    /// The tag as written in definitions and on the wire.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }
}

/// A text in both languages. Either may be missing; readers fall back to the other one.
/// In a definition it is written as `{"en": "...", "zh-CN": "..."}` or, for text that needs no
/// translation (a part number, a unit), as a plain string.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct I18nText {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
    #[serde(rename = "zh-CN", skip_serializing_if = "Option::is_none")]
    pub zh_cn: Option<String>,
}

impl I18nText {
    pub fn new(en: &str, zh_cn: &str) -> Self {
        I18nText { en: Some(en.to_owned()), zh_cn: Some(zh_cn.to_owned()) }
    }

    /// The text in `lang`, else in the other language, else `None`.
    pub fn get(&self, lang: Lang) -> Option<&str> {
        let (first, second) = match lang {
            Lang::En => (&self.en, &self.zh_cn),
            Lang::ZhCn => (&self.zh_cn, &self.en),
        };
        first.as_deref().or(second.as_deref())
    }

    pub fn is_empty(&self) -> bool {
        self.en.as_deref().is_none_or(str::is_empty) && self.zh_cn.as_deref().is_none_or(str::is_empty)
    }
}

impl<'de> Deserialize<'de> for I18nText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Both {
            en: Option<String>,
            #[serde(rename = "zh-CN")]
            zh_cn: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Plain(String),
            Both(Both),
        }
        match Repr::deserialize(deserializer)
            .map_err(|_| serde::de::Error::custom("expected a text or an object with \"en\" and \"zh-CN\""))?
        {
            Repr::Plain(text) => Ok(I18nText { en: Some(text.clone()), zh_cn: Some(text) }),
            Repr::Both(both) => Ok(I18nText { en: both.en, zh_cn: both.zh_cn }),
        }
    }
}
