// How much text a client may put in a transcription's settings, the same at every door: the HTTP
// transcriptions/translations forms (request.ts), batch jobs (jobRequest.ts reuses that parser), a realtime
// session's settings (session.update and the client secrets minted with them) and any later transport. The
// validators in settings.ts enforce them and refuse beyond them (400, or a realtime `error` event, naming the param).
//
// What a prompt costs is bounded separately: whisper conditions on its last 224 tokens only (half its 448-token text
// context), but it tokenizes the whole prompt first, inside the engine slot, for every window and chunk. A 10 MB prompt
// held a slot for minutes. So however long the accepted prompt is, only a short tail of it reaches the engine
// (ENGINE_PROMPT_BYTES below; see decoderPrompt in settings.ts).

/** Any field of an HTTP form but a speaker reference, at most (receiveUpload): the form could never carry more. */
export const MAX_FORM_FIELD_BYTES = 256 * 1024;

/**
 * One `known_speaker_references[]` entry, at most: a data URL of OpenAI's longest clip (10 s) as an uncompressed
 * 48 kHz stereo WAV is 2.56 MB in base64. Four of them and the other fields are what a form's fields may hold in all.
 */
export const MAX_SPEAKER_REFERENCE_BYTES = 3 * 1024 * 1024;
export const MAX_FORM_FIELDS_TOTAL_BYTES = 4 * MAX_SPEAKER_REFERENCE_BYTES + 2 * MAX_FORM_FIELD_BYTES;

/**
 * `prompt`: at most this many bytes (UTF-8), at every door: the bound of an HTTP form field. OpenAI documents none;
 * only the tail reaches the engine in any case.
 */
export const MAX_PROMPT_BYTES = MAX_FORM_FIELD_BYTES;

/** `keywords[]`: at most this many entries (after trimming and dropping empty ones) ... */
export const MAX_KEYWORDS = 100;
/** ... each at most this many characters. */
export const MAX_KEYWORD_LENGTH = 100;
/**
 * ... and none holding one of these: OpenAI refuses `<`, `>`, CR and LF in a keyword (one per line, no markup; one such
 * keyword refuses the whole request or session update), and so does every door here.
 */
export const KEYWORD_FORBIDDEN = /[<>\r\n]/;

/** `languages[]`: at most this many entries (whisper knows about 100 languages; duplicates are dropped). */
export const MAX_LANGUAGES = 100;

/**
 * What of the decoder prompt (keywords, then prompt) reaches the engine: its end, at most ENGINE_PROMPT_BYTES bytes
 * (UTF-8) of it, and less where it holds long runs of characters whisper's tokenizer reads as one word (letters,
 * digits, whitespace, or anything else: punctuation and every non-ASCII character, so a whole Chinese or Japanese
 * sentence): the sum of the cubes of the kept runs' lengths is at most ENGINE_PROMPT_RUN_BYTES cubed, so one run of
 * 1024 bytes, or eight of 512, and no run longer than 1024 bytes.
 *
 * Why: whisper keeps the last 223 tokens of the prompt (n_text_ctx/2, less the <|startofprev|> marker), about 1000
 * bytes of English (a word a run of a few bytes) or 1000 bytes of Chinese or Japanese (~340 characters, one run), so
 * the cut leaves what whisper reads of real text as it was. But its tokenizer costs the cube of a word's length (it
 * tries every substring of the word from its end down), inside the engine slot, once per window or chunk: 4096
 * characters of Chinese in one run took 21 s, 4096 'a's 2 s, a 10 MB prompt minutes; the tail costs at most about as
 * much as an ordinary prompt (measured: +150 ms on a 3-s transcription, against +120 for 4 KB of English).
 */
export const ENGINE_PROMPT_BYTES = 4096;
export const ENGINE_PROMPT_RUN_BYTES = 1024;

/** A client's value quoted in an error message: at most 100 characters of it (a refused 10 MB value is not echoed). */
export function quoted(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 100 ? `'${text.slice(0, 100)}…' (${text.length} characters)` : `'${text}'`;
}
