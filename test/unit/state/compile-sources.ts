// Compiles the sources a child process needs to plain JavaScript, so lock tests can race real processes.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

const sourceRoot = join(import.meta.dirname, '..', '..', '..', 'src');

async function sourceFiles(folders: readonly string[]): Promise<string[]> {
  const files = [join(sourceRoot, 'errors.ts')];
  for (const folder of folders) {
    const names = await readdir(join(sourceRoot, folder));
    files.push(...names.filter((name) => name.endsWith('.ts')).map((name) => join(sourceRoot, folder, name)));
  }
  return files;
}

/** Writes `<outDir>/src/...js` for src/errors.ts and every file in `folders`; returns the compiled src directory. */
export async function compileSources(outDir: string, folders: readonly string[]): Promise<string> {
  await writeFile(join(outDir, 'package.json'), '{ "type": "module" }\n');
  for (const file of await sourceFiles(folders)) {
    const output = ts.transpileModule(await readFile(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      fileName: file,
    });
    const target = join(outDir, 'src', relative(sourceRoot, file)).replace(/\.ts$/, '.js');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, output.outputText);
  }
  return join(outDir, 'src');
}
