import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const AUTHORITATIVE = path.resolve(ROOT, '..', 'shared', 'contract');

describe('docs/contract is a faithful copy of the public contracts', () => {
  for (const file of ['impression-event.md', 'history-api.md']) {
    it.skipIf(!existsSync(path.join(AUTHORITATIVE, file)))(
      `${file} (skipped when ../shared/contract is not beside the checkout)`,
      () => {
        expect(readFileSync(path.join(ROOT, 'docs', 'contract', file), 'utf8')).toBe(
          readFileSync(path.join(AUTHORITATIVE, file), 'utf8'),
        );
      },
    );
  }
});
