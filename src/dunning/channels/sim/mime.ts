/**
 * Just enough of RFC 2045-2047 for the SMTP simulator to show what it received: headers with
 * encoded words, nested multiparts, base64 and quoted-printable bodies, UTF-8 text.
 */

export interface ParsedMail {
  headers: Map<string, string>;
  subject: string;
  text?: string;
  html?: string;
}

export function parseMail(raw: Buffer): ParsedMail {
  const part = parsePart(raw.toString('latin1'));
  const mail: ParsedMail = { headers: part.headers, subject: decodeWords(part.headers.get('subject') ?? '') };
  collectBodies(part, mail);
  return mail;
}

interface Part {
  headers: Map<string, string>;
  body: string;
}

function parsePart(source: string): Part {
  const match = /\r?\n\r?\n/.exec(source);
  const head = match ? source.slice(0, match.index) : source;
  const body = match ? source.slice(match.index + match[0].length) : '';
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function collectBodies(part: Part, mail: ParsedMail): void {
  const contentType = part.headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (/^multipart\//i.test(contentType) && boundary) {
    const sections = part.body.split(`--${boundary}`).slice(1);
    for (const section of sections) {
      if (section.startsWith('--')) break;
      collectBodies(parsePart(section.replace(/^\r?\n/, '')), mail);
    }
    return;
  }
  const text = decodeBody(part.body, part.headers.get('content-transfer-encoding') ?? '7bit').toString('utf8');
  if (/^text\/html/i.test(contentType)) mail.html ??= text;
  else if (/^text\/plain/i.test(contentType)) mail.text ??= text.replace(/\r?\n$/, '');
}

function decodeBody(body: string, encoding: string): Buffer {
  switch (encoding.toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64');
    case 'quoted-printable':
      return quotedPrintable(body.replace(/=\r?\n/g, ''));
    default:
      return Buffer.from(body, 'latin1');
  }
}

function quotedPrintable(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text[i] === '=' ? text.slice(i + 1, i + 3) : '';
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(text.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/**
 * RFC 2047 encoded words. Whitespace between adjacent words is dropped and their bytes are
 * joined before decoding, since an encoder may split one UTF-8 character across two words.
 */
export function decodeWords(value: string): string {
  const joined = value.replace(/(\?=)\s+(=\?)/g, '$1$2');
  let out = '';
  let pending: Buffer[] = [];
  let last = 0;
  const flush = () => {
    out += Buffer.concat(pending).toString('utf8');
    pending = [];
  };
  for (const m of joined.matchAll(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g)) {
    if (m.index > last) {
      flush();
      out += joined.slice(last, m.index);
    }
    const data = m[3] ?? '';
    pending.push(m[2]!.toUpperCase() === 'B' ? Buffer.from(data, 'base64') : quotedPrintable(data.replace(/_/g, ' ')));
    last = m.index + m[0].length;
  }
  flush();
  return out + joined.slice(last);
}
