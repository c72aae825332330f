/**
 * Writes docs/settings.md's table of every setting from the declaration in infra/config.ts (`SETTINGS`):
 * `npx tsx scripts/settings-doc.ts`. test/unit/config.test.ts fails when the page is not current.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { settingsTable } from '../infra/config.js';

export const SETTINGS_DOC = path.resolve(import.meta.dirname, '..', 'docs', 'settings.md');
export const BEGIN =
  '<!-- settings table: generated from infra/config.ts by `npx tsx scripts/settings-doc.ts` -->';
export const END = '<!-- end of settings table -->';

/** The page with its generated table replaced by the current one. */
export function withCurrentTable(page: string): string {
  const from = page.indexOf(BEGIN);
  const to = page.indexOf(END);
  if (from < 0 || to < from) throw new Error(`${SETTINGS_DOC} has no ${BEGIN} … ${END} section`);
  return `${page.slice(0, from + BEGIN.length)}\n\n${settingsTable()}\n\n${page.slice(to)}`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename))
  writeFileSync(SETTINGS_DOC, withCurrentTable(readFileSync(SETTINGS_DOC, 'utf8')));
