/**
 * The progress line on stderr. On a terminal it is one line rewritten in place; otherwise (CI,
 * the test suite) only milestones are printed, one per line, so logs stay readable.
 */
import process from 'node:process';

export class ProgressLine {
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #quiet: boolean;
  #dirty = false;

  constructor(options: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}) {
    this.#stream = options.stream ?? process.stderr;
    this.#tty = this.#stream.isTTY === true;
    this.#quiet = options.quiet ?? false;
  }

  update(text: string, milestone = false): void {
    if (this.#quiet) return;
    if (this.#tty) {
      const width = Math.max(20, (this.#stream.columns ?? 100) - 1);
      this.#stream.write(`\r${text.slice(0, width)}\x1b[K`);
      this.#dirty = true;
      if (milestone) this.#newline();
    } else if (milestone) {
      this.#stream.write(`${text}\n`);
    }
  }

  /** Ends the status line, so that what follows starts on a fresh one. */
  done(): void {
    if (this.#dirty) this.#newline();
  }

  #newline(): void {
    this.#stream.write('\n');
    this.#dirty = false;
  }
}
