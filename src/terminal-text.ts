/**
 * Text that reaches a terminal (tikti-cli output, tikti-migrate item lines) without the terminal
 * acting on it (issue 11 §6). Stored values are data: an email or a tenant name holding ESC, the
 * 8-bit CSI U+009B, a bidi override or a zero-width character must be shown, never obeyed.
 */

/**
 * C0, DEL and C1 controls (`\p{Cc}`), Unicode format characters (`\p{Cf}`: zero-width, soft
 * hyphen, bidi embeddings/overrides/isolates, BOM, tag characters) and the line/paragraph
 * separators U+2028/U+2029.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

/**
 * `s` with every unsafe character replaced by a visible escape: `\x1b` up to U+00FF, `\u{202e}`
 * above. `keep` lists characters that are layout the caller meant (e.g. `"\n\t"` in free text).
 */
export function escapeControls(s: string, keep = ""): string {
  return s.replace(UNSAFE, (c) => {
    if (keep.includes(c)) return c;
    const cp = c.codePointAt(0) as number;
    return cp <= 0xff ? `\\x${hex(cp, 2)}` : `\\u{${hex(cp, 4)}}`;
  });
}

/** DEL, C1, Cf and U+2028/2029: what `JSON.stringify` leaves raw (it escapes only C0). */
const JSON_UNSAFE = /[\u007f-\u009f\p{Cf}\u2028\u2029]/gu;

/**
 * A JSON text with those characters as `\uXXXX` escapes (UTF-16 units, so astral tag characters
 * become surrogate pairs): the same document for any parser, nothing a terminal would act on.
 */
export function escapeJsonText(json: string): string {
  return json.replace(JSON_UNSAFE, (c) => {
    let out = "";
    for (let i = 0; i < c.length; i++) out += `\\u${hex(c.charCodeAt(i), 4)}`;
    return out;
  });
}
