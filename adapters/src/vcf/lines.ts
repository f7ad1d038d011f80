/**
 * Splits decompressed bytes into lines without ever holding more than one line, and refuses a
 * line longer than `maxLineBytes` before buffering it: a file with no newlines (a binary file
 * that happens to be gzipped, say) must not make the process hold gigabytes.
 */
export class LineTooLongError extends Error {
  constructor(readonly lineNumber: number) {
    super(`line ${lineNumber} too long`);
  }
}

export class LineSplitter {
  private parts: Buffer[] = [];
  private partsLength = 0;
  private lineNumber = 0;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: (line: Buffer, lineNumber: number) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) break;
      this.append(chunk.subarray(start, nl), false);
      this.emit();
      start = nl + 1;
    }
    if (start < chunk.length) this.append(chunk.subarray(start), true);
  }

  end(): void {
    if (this.partsLength > 0) this.emit();
  }

  private append(piece: Buffer, carried: boolean): void {
    if (piece.length === 0) return;
    if (this.partsLength + piece.length > this.maxLineBytes) throw new LineTooLongError(this.lineNumber + 1);
    // A piece kept past this call is copied so that it does not pin the whole (large) chunk.
    this.parts.push(carried ? Buffer.from(piece) : piece);
    this.partsLength += piece.length;
  }

  private emit(): void {
    this.lineNumber += 1;
    let line = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.partsLength);
    // Tolerate Windows line endings.
    if (line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
    this.parts = [];
    this.partsLength = 0;
    this.onLine(line, this.lineNumber);
  }
}
