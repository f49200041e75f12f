/**
 * The V8 inspector of one Worker in workerd (Miniflare's `inspectorPort`): the isolate's own heap,
 * which the process's RSS cannot show apart from workerd's. Node's global WebSocket speaks to it.
 */

interface HeapUsage {
  usedSize: number;
  /** bytes of ArrayBuffer backing stores the heap holds (in workerd, not the wasm memory) */
  backingStorageSize?: number;
  totalSize: number;
}

export interface IsolateInspector {
  /**
   * V8 heap in use right after a full collection: what the isolate still holds, bytes. workerd's
   * inspector does not answer `HeapProfiler.collectGarbage`; a heap snapshot collects first (its
   * chunks arrive as events and are dropped), so one is taken and the heap read after it.
   */
  liveHeapBytes(): Promise<{ heap: number; backing: number }>;
  close(): void;
}

export async function inspectIsolate(port: number, worker: string): Promise<IsolateInspector> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    id: string;
    webSocketDebuggerUrl: string;
  }[];
  const target = targets.find((t) => t.id === `core:user:${worker}`);
  if (!target) throw new Error(`no inspector target for Worker '${worker}' (${targets.map((t) => t.id).join(', ')})`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', reject, { once: true });
  });
  const pending = new Map<number, (result: unknown) => void>();
  ws.addEventListener('message', (event) => {
    const m = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
    if (m.id === undefined) return;
    pending.get(m.id)?.(m.error ? Promise.reject(new Error(m.error.message)) : m.result);
    pending.delete(m.id);
  });
  let next = 0;
  const call = <T>(method: string, params: Record<string, unknown> = {}): Promise<T> =>
    new Promise<T>((resolve) => {
      const id = ++next;
      pending.set(id, resolve as (result: unknown) => void);
      ws.send(JSON.stringify({ id, method, params }));
    });
  // one reading at a time: a snapshot asked for while another is taken would mix them
  let queue: Promise<unknown> = Promise.resolve();
  return {
    liveHeapBytes: () => {
      const reading = queue.then(async () => {
        await call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
        const usage = await call<HeapUsage>('Runtime.getHeapUsage');
        return { heap: usage.usedSize, backing: usage.backingStorageSize ?? Number.NaN };
      });
      queue = reading.catch(() => undefined);
      return reading;
    },
    close: () => ws.close(),
  };
}
