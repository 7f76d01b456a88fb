import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { splitCsv } from './fields.js';
import { lineBatches, type TextEncoding } from './lines.js';

const dir = mkdtempSync(join(tmpdir(), 'reel-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
async function linesOf(bytes: Buffer | string, encoding?: TextEncoding): Promise<string[]> {
  const f = join(dir, `f${files++}`);
  writeFileSync(f, bytes);
  const out: string[] = [];
  for await (const batch of lineBatches(f, encoding)) out.push(...batch);
  return out;
}

/** Chunks are 64 KiB: what straddles byte 65,536 tests the seams. */
const CHUNK = 64 * 1024;

describe('lines and fields', () => {
  it.each([
    ['LF', 'a\nb\nc\n', ['a', 'b', 'c']],
    ['no line end at the end', 'a\nb\nc', ['a', 'b', 'c']],
    ['CRLF', 'a\r\nb\r\n\r\nc\r\n', ['a', 'b', '', 'c']],
    ['lone CRs (old Mac)', 'a\rb\r\rc', ['a', 'b', '', 'c']],
    ['mixed', 'a\r\nb\nc\rd', ['a', 'b', 'c', 'd']],
    ['an empty file', '', []],
    ['a single line end', '\n', ['']],
  ])('lines - %s', async (_what, text, lines) => {
    expect(await linesOf(text)).toEqual(lines);
  });

  it('lines - a CRLF split across two chunks is one line end, and a lone CR there one too', async () => {
    for (const at of [CHUNK - 2, CHUNK - 1, CHUNK]) {
      const first = 'x'.repeat(at);
      expect(await linesOf(`${first}\r\nnext\r\nlast`)).toEqual([first, 'next', 'last']);
      expect(await linesOf(`${first}\rnext\rlast`)).toEqual([first, 'next', 'last']);
    }
  });

  it('lines - a UTF-8 character split across two chunks is decoded whole', async () => {
    for (const char of ['é', '€', '😀']) {
      for (let at = CHUNK - 4; at <= CHUNK; at++) {
        const first = 'x'.repeat(at);
        expect(await linesOf(`${first}${char}y\nCafé`)).toEqual([`${first}${char}y`, 'Café']);
      }
    }
  });

  it('lines - latin-1 bytes read as latin-1, and as U+FFFD replacement characters in UTF-8', async () => {
    const bytes = Buffer.from([0x43, 0x61, 0x66, 0xe9, 0x0a, 0x4e, 0xe9, 0x6e, 0x65, 0x74, 0x74, 0x65]);
    expect(await linesOf(bytes, 'latin1')).toEqual(['Café', 'Nénette']);
    expect(await linesOf(bytes, 'utf8')).toEqual(['Caf\uFFFD', 'N\uFFFDnette']);
  });

  it.each([
    ['plain fields', 'a,b,c', ['a', 'b', 'c']],
    ['empty fields', ',a,,', ['', 'a', '', '']],
    ['a quoted field with commas', '11,"American President, The (1995)",Comedy|Drama|Romance', ['11', 'American President, The (1995)', 'Comedy|Drama|Romance']],
    ['doubled quotes inside quotes', '1,"Great ""Big"" Title, A (2001)",Drama', ['1', 'Great "Big" Title, A (2001)', 'Drama']],
    ['an empty quoted field', '"",x,""', ['', 'x', '']],
    ['a quote inside an unquoted field, kept', '1,12" Vinyl,2', ['1', '12" Vinyl', '2']],
    ['quoted ids (R write.csv)', '"1","196","242",3,881250949', ['1', '196', '242', '3', '881250949']],
  ])('fields - CSV: %s', (_what, line, fields) => {
    expect(splitCsv(line)).toEqual(fields);
  });

  it.each([
    ['a quoted field left open', '1,"Title, The (1995),Drama', 'a quoted field opened at column 3 is not closed on this line'],
    ['text after a closing quote', '1,"Title"x,Drama', 'text after the quoted field closed at column 9'],
  ])('fields - CSV: %s is what is wrong, not fields', (_what, line, reason) => {
    expect(splitCsv(line)).toBe(reason);
  });
});
