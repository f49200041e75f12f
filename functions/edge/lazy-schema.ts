/**
 * A Durable Object's tables, made by its first write instead of on construction: an object
 * reached only by reads (a guessed API key's meter, a status read of an id nobody uploaded)
 * then stores nothing, so callers cannot create stored objects by guessing names.
 */
export class LazySchema {
  private made = false;

  constructor(
    private readonly sql: SqlStorage,
    private readonly schema: string,
    /** one table the schema creates, probed to know whether it was made */
    private readonly probe: string,
  ) {}

  exists(): boolean {
    this.made ||=
      this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", this.probe).toArray().length > 0;
    return this.made;
  }

  create(): void {
    if (this.exists()) return;
    this.sql.exec(this.schema);
    this.made = true;
  }
}
