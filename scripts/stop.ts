/** `npm stop`: stops a stack started by `npm start` (it shuts its children down on SIGTERM). */
import { readFile } from 'node:fs/promises';

const pid = Number(await readFile('.cache/chorus.pid', 'utf8').catch(() => ''));
if (!pid) {
  console.log('no local stack is running');
  process.exit(0);
}
try {
  process.kill(pid, 'SIGTERM');
} catch {
  console.log('no local stack is running');
  process.exit(0);
}
for (let i = 0; i < 100; i++) {
  try {
    process.kill(pid, 0);
  } catch {
    console.log('local stack stopped');
    process.exit(0);
  }
  await new Promise((r) => setTimeout(r, 100));
}
console.error(`process ${pid} did not stop`);
process.exit(1);
