import { ApiError } from './errors.js';

/**
 * Splits a streamed body into its non-empty lines without holding more than one line in memory, so
 * a client can send millions of records; a line longer than the limit is refused, never buffered.
 */
export async function* ndjsonLines(body: ReadableStream<Uint8Array>, maxLineChars: number): AsyncGenerator<{ line: string; lineNumber: number }> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let buffered = '';
  let lineNumber = 0;
  const tooLong = () => new ApiError('PAYLOAD_TOO_LARGE', `line ${lineNumber + 1} is longer than ${maxLineChars} characters`, { line: lineNumber + 1 });
  for await (const chunk of body) {
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      throw new ApiError('MALFORMED_JSON', `line ${lineNumber + 1} is not valid UTF-8`, { line: lineNumber + 1 });
    }
    buffered += text;
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      lineNumber++;
      if (line.length > maxLineChars) throw tooLong();
      if (line.length > 0) yield { line, lineNumber };
      newline = buffered.indexOf('\n');
    }
    if (buffered.length > maxLineChars) throw tooLong();
  }
  const last = buffered.trim();
  if (last.length > 0) yield { line: last, lineNumber: lineNumber + 1 };
}
