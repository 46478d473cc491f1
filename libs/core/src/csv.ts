/**
 * CSV records (RFC 4180) as the TTP reads snapshots and as a provider's own tool reads them
 * before sending: one implementation, so the tool's row numbers and fields are the service's.
 */

/** How many double quotes a text holds: a record with an odd number continues on the next line. */
export function countQuotes(s: string): number {
  let n = 0;
  for (let i = s.indexOf('"'); i !== -1; i = s.indexOf('"', i + 1)) n++;
  return n;
}

/** Splits one CSV record; quoted fields may hold commas, doubled quotes and line breaks. */
export function splitRecord(record: string): string[] {
  if (!record.includes('"')) return record.split(',');
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < record.length; i++) {
    const c = record[i];
    if (quoted) {
      if (c === '"' && record[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}
