// Watches a deploy root while runs go on: every few milliseconds each link must name an existing directory and
// state.json must parse, so a moment where `current` is missing or dangling, or the state torn, is caught.
import { readFile, stat, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RootWatch {
  /** Stops watching; answers how many times it looked and every problem it saw (empty when all was well). */
  stop(): Promise<{ looks: number; problems: string[] }>;
}

/** `links` are paths under `root` (srv/myapp/current, …); state.json is var/lib/pulldeploy/state.json. */
export function watchRoot(root: string, links: readonly string[]): RootWatch {
  const problems = new Set<string>();
  let looks = 0;
  let watching = true;

  const lookAtLink = async (link: string): Promise<void> => {
    const path = join(root, link);
    try {
      if (!(await lstat(path)).isSymbolicLink()) problems.add(`${link} is not a symlink`);
    } catch {
      problems.add(`${link} is missing`);
      return;
    }
    try {
      if (!(await stat(path)).isDirectory()) problems.add(`${link} does not name a directory`);
    } catch {
      problems.add(`${link} dangles`);
    }
  };

  const lookAtState = async (): Promise<void> => {
    let text: string;
    try {
      text = await readFile(join(root, 'var/lib/pulldeploy/state.json'), 'utf8');
    } catch {
      problems.add('state.json is missing');
      return;
    }
    try {
      JSON.parse(text);
    } catch {
      problems.add(`state.json does not parse: ${JSON.stringify(text.slice(0, 80))}`);
    }
  };

  const loop = (async () => {
    while (watching) {
      await Promise.all([...links.map(lookAtLink), lookAtState()]);
      looks += 1;
      await sleep(2);
    }
  })();

  return {
    stop: async () => {
      watching = false;
      await loop;
      return { looks, problems: [...problems] };
    },
  };
}
