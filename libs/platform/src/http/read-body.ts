/** Reads a raw request body stream (CSV, NDJSON) into a string, refusing more than `maxBytes` with 413. */
import { PayloadTooLargeException } from '@nestjs/common';

export async function readText(body: unknown, maxBytes: number): Promise<string> {
  if (typeof body === 'string') return body;
  if (body === undefined || body === null) return '';
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    n += b.length;
    if (n > maxBytes)
      throw new PayloadTooLargeException({ message: `The body is larger than ${maxBytes} bytes`, details: [{ field: '(body)', reason: `is larger than ${maxBytes} bytes` }] });
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}
