// Keeps the last few kilobytes of a process's output for messages and state.json.

export class OutputTail {
  readonly #maxLength: number;
  #text = '';
  /** Whether #text starts in the middle of a line (an earlier trim cut it). */
  #startsMidLine = false;

  constructor(maxLength: number) {
    this.#maxLength = maxLength;
  }

  push(line: string): void {
    this.#text += line + '\n';
    // Trimming only at twice the limit keeps appends amortised O(1), even for floods of empty lines.
    if (this.#text.length > 2 * this.#maxLength) this.#trimTo(this.#maxLength);
  }

  /** At most maxLength characters without a trailing newline; a leading `…` marks a line cut at the front. */
  text(): string {
    const body = this.#text.endsWith('\n') ? this.#text.slice(0, -1) : this.#text;
    let startsMidLine = this.#startsMidLine;
    let kept = body;
    if (body.length > this.#maxLength) {
      startsMidLine = body[body.length - this.#maxLength - 1] !== '\n';
      kept = body.slice(-this.#maxLength);
    }
    return startsMidLine && kept !== '' ? '…' + kept.slice(1) : kept;
  }

  #trimTo(length: number): void {
    const cutAt = this.#text.length - length;
    this.#startsMidLine = this.#text[cutAt - 1] !== '\n';
    this.#text = this.#text.slice(cutAt);
  }
}
