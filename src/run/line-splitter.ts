// Splits a decoded output stream into lines, cutting overlong lines so output without newlines cannot exhaust memory.

export const lineCutMarker = ' [… line cut]';

export class LineSplitter {
  readonly #maxLineLength: number;
  readonly #emit: (line: string) => void;
  #pending = '';
  /** After a cut, the rest of that line is dropped until its newline arrives. */
  #discarding = false;

  constructor(maxLineLength: number, emit: (line: string) => void) {
    this.#maxLineLength = maxLineLength;
    this.#emit = emit;
  }

  write(text: string): void {
    let start = 0;
    let newline = text.indexOf('\n');
    while (newline !== -1) {
      this.#append(text.slice(start, newline));
      this.#endLine();
      start = newline + 1;
      newline = text.indexOf('\n', start);
    }
    this.#append(text.slice(start));
  }

  /** Emits a last line that had no newline. */
  flush(): void {
    if (!this.#discarding && this.#pending !== '') this.#emit(this.#pending);
    this.#pending = '';
    this.#discarding = false;
  }

  #append(piece: string): void {
    if (this.#discarding || piece === '') return;
    this.#pending += piece;
    if (this.#pending.length > this.#maxLineLength) {
      this.#emit(this.#pending.slice(0, this.#maxLineLength) + lineCutMarker);
      this.#pending = '';
      this.#discarding = true;
    }
  }

  #endLine(): void {
    if (this.#discarding) {
      this.#discarding = false;
      return;
    }
    this.#emit(this.#pending);
    this.#pending = '';
  }
}
