// Whisper's language table (openai/whisper whisper/tokenizer.py LANGUAGES and TO_LANGUAGE_CODE).
// OpenAI's verbose_json reports `language` as the lower-case English name ("english"), while requests
// take the ISO-639-1 code ("en"). The order is whisper's (it is the order of the language tokens).

/** ISO-639-1 code (plus "haw" and "yue") -> whisper's lower-case English language name. */
export const LANGUAGES: Readonly<Record<string, string>> = Object.freeze({
  en: "english",
  zh: "chinese",
  de: "german",
  es: "spanish",
  ru: "russian",
  ko: "korean",
  fr: "french",
  ja: "japanese",
  pt: "portuguese",
  tr: "turkish",
  pl: "polish",
  ca: "catalan",
  nl: "dutch",
  ar: "arabic",
  sv: "swedish",
  it: "italian",
  id: "indonesian",
  hi: "hindi",
  fi: "finnish",
  vi: "vietnamese",
  he: "hebrew",
  uk: "ukrainian",
  el: "greek",
  ms: "malay",
  cs: "czech",
  ro: "romanian",
  da: "danish",
  hu: "hungarian",
  ta: "tamil",
  no: "norwegian",
  th: "thai",
  ur: "urdu",
  hr: "croatian",
  bg: "bulgarian",
  lt: "lithuanian",
  la: "latin",
  mi: "maori",
  ml: "malayalam",
  cy: "welsh",
  sk: "slovak",
  te: "telugu",
  fa: "persian",
  lv: "latvian",
  bn: "bengali",
  sr: "serbian",
  az: "azerbaijani",
  sl: "slovenian",
  kn: "kannada",
  et: "estonian",
  mk: "macedonian",
  br: "breton",
  eu: "basque",
  is: "icelandic",
  hy: "armenian",
  ne: "nepali",
  mn: "mongolian",
  bs: "bosnian",
  kk: "kazakh",
  sq: "albanian",
  sw: "swahili",
  gl: "galician",
  mr: "marathi",
  pa: "punjabi",
  si: "sinhala",
  km: "khmer",
  sn: "shona",
  yo: "yoruba",
  so: "somali",
  af: "afrikaans",
  oc: "occitan",
  ka: "georgian",
  be: "belarusian",
  tg: "tajik",
  sd: "sindhi",
  gu: "gujarati",
  am: "amharic",
  yi: "yiddish",
  lo: "lao",
  uz: "uzbek",
  fo: "faroese",
  ht: "haitian creole",
  ps: "pashto",
  tk: "turkmen",
  nn: "nynorsk",
  mt: "maltese",
  sa: "sanskrit",
  lb: "luxembourgish",
  my: "myanmar",
  bo: "tibetan",
  tl: "tagalog",
  mg: "malagasy",
  as: "assamese",
  tt: "tatar",
  haw: "hawaiian",
  ln: "lingala",
  ha: "hausa",
  ba: "bashkir",
  jw: "javanese",
  su: "sundanese",
  yue: "cantonese",
});

/** Language name (and whisper's aliases, e.g. "mandarin", "castilian") -> code. */
export const TO_LANGUAGE_CODE: Readonly<Record<string, string>> = Object.freeze({
  ...Object.fromEntries(Object.entries(LANGUAGES).map(([code, name]) => [name, code])),
  burmese: "my",
  valencian: "ca",
  flemish: "nl",
  haitian: "ht",
  letzeburgesch: "lb",
  pushto: "ps",
  panjabi: "pa",
  moldavian: "ro",
  moldovan: "ro",
  sinhalese: "si",
  castilian: "es",
  mandarin: "zh",
});

const has = (table: Readonly<Record<string, string>>, key: string) => Object.prototype.hasOwnProperty.call(table, key);

/** The whisper/OpenAI name of a language code ("en" -> "english"), or undefined for an unknown code. */
export function languageName(code: string): string | undefined {
  const key = code.trim().toLowerCase();
  return has(LANGUAGES, key) ? LANGUAGES[key] : undefined;
}

/**
 * Normalizes a language given as a code ("EN") or a name/alias ("English", "Mandarin"),
 * case-insensitively and ignoring surrounding whitespace, to whisper's code; undefined when unknown.
 */
export function normalizeLanguage(input: string): string | undefined {
  const key = input.trim().toLowerCase();
  if (has(LANGUAGES, key)) return key;
  if (has(TO_LANGUAGE_CODE, key)) return TO_LANGUAGE_CODE[key];
  return undefined;
}

/**
 * The language a transcription was asked for: an ISO code, or undefined to detect it. "auto" (the engine's word for
 * detection, which the CLI and older clients send) and "" mean detect: the one place that rule is read below the wire.
 */
export function requestedLanguage(language: string | undefined): string | undefined {
  return language === undefined || language === "" || language === "auto" ? undefined : language;
}
