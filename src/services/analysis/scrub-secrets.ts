// Replaces token-shaped strings in attacker-controlled text (CI logs) with [REDACTED]
// before the text is stored, shown or sent to an LLM.
//
// Every pattern starts with a literal (a token prefix, a keyword, "://"), and each
// quantified run is a single character class bounded by the characters that end it, so
// the work stays linear in the input: no nested or adjacent overlapping quantifiers.

export const REDACTED = '[REDACTED]';

interface Rule {
  pattern: RegExp;
  replace: string;
}

const RULES: readonly Rule[] = [
  // Whole header values first, so "Authorization: Basic …" loses the credential and not just a word.
  {
    pattern: /(authorization["']?\s*[:=]\s*["']?)(?:(?:bearer|basic|token|digest)\s+)?[^\s"',;]+/gi,
    replace: `$1${REDACTED}`,
  },
  { pattern: /\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, replace: `$1${REDACTED}` },
  // user:password@ in URLs; anchored on "://" so a long word never gets rescanned.
  { pattern: /:\/\/[^\s/@:]+:[^\s/@]+@/g, replace: `://${REDACTED}@` },
  // GitHub: classic (ghp_), OAuth (gho_), user-to-server (ghu_), server-to-server (ghs_),
  // refresh (ghr_) and fine-grained (github_pat_). Any length, even none: test tokens are
  // short, and a line cap can cut a token right after its prefix.
  { pattern: /\bgh[pousr]_[A-Za-z0-9_]*/g, replace: REDACTED },
  { pattern: /\bgithub_pat_[A-Za-z0-9_]*/g, replace: REDACTED },
  // Anthropic, OpenRouter and OpenAI project keys are recognisable by prefix alone;
  // a bare "sk-" needs length to avoid eating words like "sk-learn".
  { pattern: /\bsk-(?:ant|or|proj)-[A-Za-z0-9_-]*/g, replace: REDACTED },
  { pattern: /\bsk-[A-Za-z0-9_-]{16,}/g, replace: REDACTED },
  { pattern: /\bffx_[A-Za-z0-9_]*/g, replace: REDACTED },
  { pattern: /\bnpm_[A-Za-z0-9]{30,}/g, replace: REDACTED },
  { pattern: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, replace: REDACTED },
  { pattern: /\bxox[abposr]-[A-Za-z0-9-]+/g, replace: REDACTED },
  // A JWT cut short by a line cap is still redacted: header and payload are enough to match.
  {
    pattern: /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}(?:\.[A-Za-z0-9_-]+)?/g,
    replace: REDACTED,
  },
  // key=value and key: value. "=" takes any value; ":" needs 4+ characters so prose such as
  // "token: ;" survives, and GitHub's own "***" mask is left as it is.
  {
    pattern:
      /((?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)["']?\s*=\s*["']?)[^\s"'&;,]+/gi,
    replace: `$1${REDACTED}`,
  },
  {
    pattern:
      /((?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)["']?\s*:\s*["']?)(?!\*\*\*)[^\s"'&;,]{4,}/gi,
    replace: `$1${REDACTED}`,
  },
];

const KEY_BEGIN = '-----BEGIN ';
const KEY_HEADER = /^-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/;
const KEY_END = '-----END ';
// Lines a PEM body is made of; used to know how far a key runs when its END marker is missing.
const PEM_BODY_LINE = /^[A-Za-z0-9+/=]+\s*$|^(?:Proc-Type|DEK-Info): /;

export function scrubSecrets(text: string): string {
  let out = scrubPrivateKeys(text);
  for (const rule of RULES) out = out.replace(rule.pattern, rule.replace);
  return out;
}

// Done with indexOf rather than a lazy [\s\S]*? regex: many BEGIN markers without an END
// would make that regex rescan the rest of the text once per marker.
function scrubPrivateKeys(text: string): string {
  let from = text.indexOf(KEY_BEGIN);
  if (from === -1) return text;
  let out = '';
  let copied = 0;
  while (from !== -1) {
    if (!KEY_HEADER.test(text.slice(from, from + 80))) {
      from = text.indexOf(KEY_BEGIN, from + KEY_BEGIN.length);
      continue;
    }
    const end = keyEnd(text, from);
    out += text.slice(copied, from) + REDACTED;
    copied = end;
    from = text.indexOf(KEY_BEGIN, end);
  }
  return out + text.slice(copied);
}

function keyEnd(text: string, begin: number): number {
  const endMarker = text.indexOf(KEY_END, begin);
  if (endMarker !== -1) {
    const close = text.indexOf('-----', endMarker + KEY_END.length);
    if (close !== -1) return close + 5;
  }
  // No END marker (a truncated log): the key runs as long as the lines look like PEM.
  let lineEnd = text.indexOf('\n', begin);
  while (lineEnd !== -1) {
    const next = text.indexOf('\n', lineEnd + 1);
    const line = text.slice(lineEnd + 1, next === -1 ? text.length : next);
    if (!PEM_BODY_LINE.test(line)) return lineEnd;
    lineEnd = next;
  }
  return text.length;
}
