import PostalMime from 'postal-mime';
import type { EmailView } from '../schema';
import { extractUrls, htmlToText } from './text';

/** The parts of an e-mail that featurizers look at. */
export type EmailViews = Record<EmailView, string>;

function domainOf(address: string | undefined): string {
  if (!address) return 'none';
  const at = address.lastIndexOf('@');
  return at >= 0 ? address.slice(at + 1).toLowerCase() : 'none';
}

function urlView(urls: string[]): string {
  if (urls.length === 0) return 'nourl';
  const parts: string[] = [`urlcount:${Math.min(urls.length, 20)}`];
  for (const raw of urls) {
    const withScheme = raw.startsWith('www.') ? `http://${raw}` : raw;
    try {
      const u = new URL(withScheme);
      const host = u.hostname.toLowerCase();
      const labels = host.split('.');
      parts.push(`host:${host}`, `tld:${labels[labels.length - 1] ?? ''}`);
      if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) parts.push('iphost');
      if (u.port) parts.push('hasport');
      for (const seg of u.pathname.split('/')) if (seg) parts.push(seg.toLowerCase());
      if (u.search) parts.push('hasquery');
    } catch {
      parts.push('badurl');
    }
  }
  return parts.join(' ');
}

/**
 * Parses an RFC 822 message with postal-mime (runs in Node and Workers alike) into views:
 * subject and selected headers, body text (HTML reduced to text), and URLs/domains.
 */
export async function parseEmail(raw: string): Promise<EmailViews> {
  const mail = await PostalMime.parse(raw);
  const html = mail.html ?? '';
  const body = mail.text && mail.text.trim().length > 0 ? mail.text : htmlToText(html);
  const header = (name: string): string =>
    mail.headers
      .find((h) => h.key === name)
      ?.value.split(/[;\s]/)[0]
      ?.toLowerCase() ?? 'none';
  const recipients = (mail.to?.length ?? 0) + (mail.cc?.length ?? 0);
  const headerTokens = [
    mail.subject ?? '',
    mail.from?.name ?? '',
    `fromdomain:${domainOf(mail.from?.address)}`,
    `ctype:${header('content-type')}`,
    `html:${html.length > 0 ? 'yes' : 'no'}`,
    `attachments:${Math.min(mail.attachments.length, 5)}`,
    `recipients:${Math.min(recipients, 10)}`,
    `priority:${header('x-priority')}`,
  ];
  const urls = extractUrls(`${mail.text ?? ''}\n${html}`);
  const views = { 'subject+headers': headerTokens.join(' '), body, urls: urlView(urls) };
  return { ...views, all: `${views['subject+headers']}\n${views.urls}\n${body}` };
}
