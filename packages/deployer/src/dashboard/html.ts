/** `text` with the characters that mean something in HTML (`& < > " '`) escaped, for text and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
