// Where the project's non-code files live, found from this module's own location so the
// same code works from src/ (tsx) and from dist/src/ (compiled).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return start;
    dir = parent;
  }
  return dir;
}

export const PROJECT_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const MIGRATIONS_DIR = join(PROJECT_ROOT, 'migrations');
export const VIEWS_DIR = join(PROJECT_ROOT, 'views');
export const ASSETS_DIR = join(VIEWS_DIR, 'assets');
